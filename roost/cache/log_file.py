"""The embedded store's log on disk: appends, checked reads back, replay and rewrites.

The index in memory (``embedded``) decides what to write; this module is the only one
that touches the file. An append is one ``write(2)``; one the disk has no room for is
taken back whole (the file is cut to where it was) and raised as 507, so nothing half
written is ever read back. A rewrite (compaction, recovery, the earlier format) goes to
a temporary file that is synced and renamed over the log, so a crash leaves either the
old log or the new one.
"""

from __future__ import annotations

import logging
import mmap
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from roost.cache.log_format import (
    MAGIC,
    Damage,
    Record,
    RecordDamaged,
    Torn,
    earlier_format,
    legacy,
    scan,
)
from roost.cache.log_format import value_offset as names_length
from roost.cache.log_format import verify as verified
from roost.domain.errors import InsufficientStorage, no_room, out_of_space
from roost.home import private

log = logging.getLogger("roost.cache")
LOG_NAME = "cache.log"


class LogFile:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LOG_NAME
        self._rewrite_to = folder / (LOG_NAME + ".compact")
        self._rewrite_to.unlink(missing_ok=True)  # a rewrite a crash interrupted
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        private(self.path, 0o600)  # values are the instances' own data
        self.end = os.fstat(self._fd).st_size
        self._full = False  # the last append found no room (logged once, until one fits)
        if self.end and os.pread(self._fd, len(MAGIC), 0) != MAGIC:
            with mmap.mmap(self._fd, self.end, access=mmap.ACCESS_READ) as data:
                upgrade = earlier_format(data)
            if upgrade:
                self._upgrade()

    def append(self, data: bytes, what: str) -> int:
        """Append ``data`` whole or not at all; where it starts."""
        start = self.end
        try:
            written = os.write(self._fd, data)
        except OSError as error:
            self._take_back(start)
            if out_of_space(error):
                raise self._no_room(what, error) from None
            raise
        if written != len(data):  # a short write to a regular file: the disk is full
            self._take_back(start)
            raise self._no_room(what, None)
        self.end = start + written
        if self._full:
            self._full = False
            log.info("cache: %s can be written again", self.path)
        return start

    def _no_room(self, what: str, error: OSError | None) -> InsufficientStorage:
        if not self._full:
            self._full = True
            log.warning("cache: no room on disk for %s; writes get 507 until there is", self.path)
        return no_room(what, error)

    def read_back(self, namespace: bytes, key: bytes, value_at: int, length: int) -> bytes | None:
        """The value at ``value_at`` if its record is ``namespace``/``key``'s and checks;
        None if it is damaged."""
        names = names_length(namespace, key)
        record = os.pread(self._fd, names + length, value_at - names)
        try:
            return verified(record, namespace, key)
        except RecordDamaged:
            return None

    def replay(
        self, apply: Callable[[Record], None], lose: Callable[[str, str], None]
    ) -> list[Damage]:
        """Hand every good record to ``apply`` in order and the names of every damaged
        one to ``lose``; cut off an incomplete record at the end; the damage found."""
        size = self.end
        if size == 0:
            return []
        damages: list[Damage] = []
        torn: int | None = None
        with mmap.mmap(self._fd, size, access=mmap.ACCESS_READ) as data:
            for item in scan(data):
                if type(item) is tuple:
                    apply(item)
                elif isinstance(item, Damage):
                    damages.append(item)
                    for namespace, key in item.keys:
                        lose(namespace, key)
                elif isinstance(item, Torn):
                    torn = item.start
        if torn is not None:
            os.ftruncate(self._fd, torn)
            self.end = torn
            log.info(
                "cache: an incomplete record at the end of %s (a write cut short) was cut"
                " off: %d bytes",
                self.path,
                size - torn,
            )
        return damages

    def keep_aside(self, now: float) -> Path:
        """Keep the log as it is now under another name, before it is rewritten."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        kept = self.path.with_name(f"{LOG_NAME}.damaged-{stamp}")
        try:
            os.link(self.path, kept)  # the same bytes: a rewrite replaces cache.log only
        except FileExistsError:
            pass
        except OSError:
            shutil.copyfile(self.path, kept)
        private(kept, 0o600)
        return kept

    def rewrite(self, records: Iterable[bytes], what: str) -> None:
        """Make ``records`` the whole log, atomically: a temporary file, synced, renamed."""
        try:
            with open(self._rewrite_to, "wb") as out:
                size = 0
                for record in records:
                    out.write(record)
                    size += len(record)
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            self._rewrite_to.unlink(missing_ok=True)
            if out_of_space(error):
                raise no_room(what, error) from None
            raise
        os.replace(self._rewrite_to, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        self.end = size

    def close(self) -> None:
        os.close(self._fd)

    def _take_back(self, start: int) -> None:
        if os.fstat(self._fd).st_size != start:
            os.ftruncate(self._fd, start)

    def _upgrade(self) -> None:
        """Rewrite a log of the earlier format in this one (what it held, unchanged)."""
        with mmap.mmap(self._fd, self.end, access=mmap.ACCESS_READ) as data:
            records, end = legacy(data)
        if end < self.end:
            kept = self.path.with_name(LOG_NAME + ".v1")
            log.warning(
                "cache: %s (earlier format) ends in %d bytes that do not check; kept as %s",
                self.path,
                self.end - end,
                kept.name,
            )
            shutil.copyfile(self.path, kept)
        self.rewrite(records, "the cache log in its new format")
        log.info("cache: %s rewritten in the format that tells damage apart", self.path)
