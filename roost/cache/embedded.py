"""The embedded backend: an append-only log on disk, an index in memory (Bitcask's design).

Every write is appended to ``cache.log`` with one ``write(2)`` before it is acknowledged,
so it survives a crash of the process (``kill -9``): the bytes are in the kernel. Reads
never touch the disk for values held in memory; past the memory budget, values are
dropped from memory (least recently used first) and read back with ``pread(2)``, and
every record read back is checked against its crcs: a damaged value is never returned
(500 ``VALUE_CORRUPT``; the key is dropped and the damage reported).

On open, the log is replayed to rebuild the index (``log_file``, ``log_format``). Damage
costs only the damaged records: the original is kept aside as
``cache.log.damaged-<time>``, every good record before and after the damage is
recovered, the log is rewritten without it, and what was lost is logged and told to the
listener. When most of the log is dead records, it is rewritten with only the live ones.

All methods run on the event loop without awaiting in between, so each operation,
including a quota check and the write it guards, is atomic.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from roost.cache.backend import (
    CacheBackend,
    CacheListener,
    DamageReport,
    Item,
    Limits,
    Usage,
    ValueCorrupt,
    entry_size,
    over_quota,
)
from roost.cache.index import Entry, Index, Namespace
from roost.cache.log_file import LOG_NAME, LogFile
from roost.cache.log_format import DELETE, DROP, PUT, Damage, encode, value_offset
from roost.domain.errors import InsufficientStorage

__all__ = ["LOG_NAME", "EmbeddedStore"]

log = logging.getLogger("roost.cache")
DEFAULT_MEMORY_BUDGET = 64 * 1024 * 1024
COMPACT_MIN_BYTES = 64 * 1024 * 1024


class EmbeddedStore(CacheBackend):
    def __init__(
        self,
        folder: Path,
        *,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._index = index = Index(memory_budget, clock)
        self._listener: CacheListener | None = None
        self._unreported: list[DamageReport] = []
        self._log = LogFile(folder)
        now_ms = clock() * 1000
        collecting = gc.isenabled()
        gc.disable()  # replay makes millions of objects and no cycles: nothing to collect
        try:
            damages = self._log.replay(partial(index.apply, now_ms), index.lost_in_replay)
        finally:
            if collecting:
                gc.enable()
        index.replayed()
        if damages:
            self._recover(damages)
        elif self._needs_compaction():
            self._compact_if_room()

    # -- reads -------------------------------------------------------------------------

    async def get(self, namespace: str, key: str) -> bytes | None:
        entry = self._index.live(namespace, key)
        if entry is None:
            return None
        try:
            return self._value(namespace, key, entry)
        finally:
            if self._unreported:
                await self._report()

    async def get_many(self, namespace: str, keys: list[str]) -> dict[str, bytes]:
        found = {}
        try:
            for key in keys:
                entry = self._index.live(namespace, key)
                if entry is not None:
                    found[key] = self._value(namespace, key, entry)
        finally:
            if self._unreported:
                await self._report()
        return found

    async def list_keys(
        self, namespace: str, prefix: str, after: str | None, limit: int
    ) -> list[str]:
        space = self._index.spaces.get(namespace)
        if space is None:
            return []
        self._index.expire_due()
        if after is None or after < prefix:
            candidates = space.order.irange(prefix)
        else:
            candidates = space.order.irange(after, inclusive=(False, True))
        keys: list[str] = []
        for key in candidates:
            if not key.startswith(prefix) or len(keys) >= limit:
                break
            keys.append(key)
        return keys

    async def snapshot(self, namespace: str) -> list[Item]:
        # no await between the first key and the last: no write can land in between
        self._index.expire_due()
        space = self._index.spaces.get(namespace)
        if space is None:
            return []
        items = []
        try:
            for key in list(space.order):  # a damaged value is dropped as it is found
                entry = space.entries[key]
                items.append(Item(key, self._value(namespace, key, entry), entry.expires_ms))
            return items
        finally:
            if self._unreported:
                await self._report()

    async def usage(self, namespace: str) -> Usage:
        self._index.expire_due()
        space = self._index.spaces.get(namespace)
        return Usage(0, 0) if space is None else Usage(space.bytes, len(space.entries))

    # -- writes ------------------------------------------------------------------------

    async def put_many(
        self, namespace: str, entries: dict[str, bytes], ttl_s: float | None, limits: Limits
    ) -> None:
        self._index.expire_due()
        space = self._index.spaces.get(namespace) or Namespace()
        added_bytes = added_keys = 0
        for key, value in entries.items():
            old = space.entries.get(key)
            added_bytes += entry_size(key, value) - (old.size if old else 0)
            added_keys += old is None
        if space.bytes + added_bytes > limits.max_bytes:
            raise over_quota(namespace, "bytes", space.bytes + added_bytes, space.bytes, limits)
        if len(space.entries) + added_keys > limits.max_keys:
            raise over_quota(
                namespace, "keys", len(space.entries) + added_keys, len(space.entries), limits
            )
        expires_ms = 0 if ttl_s is None else int((self._clock() + ttl_s) * 1000)
        ns = namespace.encode()
        records = []
        offset = 0
        placed = []
        for key, value in entries.items():
            key_bytes = key.encode()
            record = encode(PUT, ns, key_bytes, value, expires_ms)
            value_at = offset + value_offset(ns, key_bytes)
            entry = Entry(value_at, len(value), expires_ms, len(key_bytes) + len(value))
            placed.append((key, value, entry))
            records.append(record)
            offset += len(record)
        start = self._log.append(b"".join(records), f"cache values of {namespace!r}")
        self._index.spaces[namespace] = space
        for key, value, entry in placed:
            entry.offset += start
            self._index.install(space, namespace, key, entry)
            self._index.remember(entry, value)

    async def delete_many(self, namespace: str, keys: list[str]) -> int:
        self._index.expire_due()
        space = self._index.spaces.get(namespace)
        if space is None:
            return 0
        present = [key for key in dict.fromkeys(keys) if key in space.entries]
        if not present:
            return 0
        ns = namespace.encode()
        self._log.append(
            b"".join(encode(DELETE, ns, key.encode(), b"", 0) for key in present),
            f"a delete in {namespace!r}",
        )
        for key in present:
            self._index.remove(space, key)
        return len(present)

    async def drop(self, namespace: str) -> None:
        if namespace not in self._index.spaces:
            return
        self._log.append(encode(DROP, namespace.encode(), b"", b"", 0), f"a drop of {namespace!r}")
        self._index.drop(namespace)
        self._maybe_compact()
        await self._report()

    async def close(self) -> None:
        self._log.close()

    async def listen(self, listener: CacheListener) -> None:
        self._listener = listener
        await self._report()

    # -- maintenance -------------------------------------------------------------------

    async def expire(self) -> int:
        """Reclaim every expired key now; how many there were (run on a timer)."""
        reclaimed = self._index.expire_due()
        self._maybe_compact()
        await self._report()
        return reclaimed

    def compact(self) -> None:
        """Rewrite the log with only live records. Every record copied from disk is
        checked; a damaged one is dropped and reported."""
        self._index.expire_due()
        moved: list[tuple[Entry, int]] = []
        damaged: list[tuple[str, str, Entry]] = []

        def live_records() -> Iterator[bytes]:
            position = 0
            for namespace, space in self._index.spaces.items():
                ns = namespace.encode()
                for key, entry in space.entries.items():
                    key_bytes = key.encode()
                    value = entry.value
                    if value is None:
                        value = self._log.read_back(ns, key_bytes, entry.offset, entry.length)
                    if value is None:
                        damaged.append((namespace, key, entry))
                        continue
                    record = encode(PUT, ns, key_bytes, value, entry.expires_ms)
                    moved.append((entry, position + value_offset(ns, key_bytes)))
                    position += len(record)
                    yield record

        self._log.rewrite(live_records(), "the compacted cache log")
        for entry, offset in moved:
            entry.offset = offset
        self._index.garbage = 0
        for namespace, key, entry in damaged:
            self._lose(namespace, key, entry, "compaction")

    @property
    def log_bytes(self) -> int:
        return self._log.end

    @property
    def cached_bytes(self) -> int:
        return self._index.cached_bytes

    # -- damage ------------------------------------------------------------------------

    def _value(self, namespace: str, key: str, entry: Entry) -> bytes:
        value = self._index.cached(entry)
        if value is not None:
            return value
        value = self._log.read_back(namespace.encode(), key.encode(), entry.offset, entry.length)
        if value is None:
            self._lose(namespace, key, entry, "read")
            raise ValueCorrupt(
                f"the value of {key!r} in {namespace!r} was damaged on disk and is dropped",
                instance_id=namespace,
                key=key,
            )
        self._index.remember(entry, value)
        return value

    def _lose(self, namespace: str, key: str, entry: Entry, found: str) -> None:
        """Drop a key whose record is damaged, say so and queue it for the listener."""
        self._index.discard(namespace, key, entry)
        log.warning(
            "cache: the record of %r in %r at offset %d of %s is damaged; the key is dropped",
            key,
            namespace,
            entry.offset,
            self._log.path,
        )
        self._unreported.append(
            DamageReport(
                found="read" if found == "read" else "compaction",
                records=1,
                bytes=entry.length,
                keys=((namespace, key),),
            )
        )

    def _recover(self, damages: list[Damage]) -> None:
        """Keep the damaged log aside, rewrite it with every good record, say what was lost."""
        kept = self._log.keep_aside(self._clock())
        keys = tuple(key for damage in damages for key in damage.keys)
        report = DamageReport(
            found="open",
            records=sum(damage.records for damage in damages),
            bytes=sum(damage.bytes for damage in damages),
            keys=keys,
            unknown=sum(damage.unknown for damage in damages),
            ranges=tuple((damage.start, damage.end) for damage in damages),
            kept=str(kept),
        )
        named = [f"{key!r} in {namespace!r}" for namespace, key in keys[:10]]
        if len(keys) > 10:
            named.append(f"{len(keys) - 10} more keys")
        if report.unknown:
            named.append(f"{report.unknown} record(s) whose keys cannot be told")
        log.warning(
            "cache: %s is damaged in %d place(s): %d record(s), %d bytes lost (%s); every"
            " other record was recovered, the damaged log is kept as %s",
            self._log.path,
            len(damages),
            report.records,
            report.bytes,
            ", ".join(named),
            kept.name,
        )
        self._unreported.append(report)
        self._compact_if_room()

    async def _report(self) -> None:
        if self._listener is None:
            return
        reports, self._unreported = self._unreported, []
        for report in reports:
            await self._listener.cache_damaged(report)

    def _needs_compaction(self) -> bool:
        garbage = self._index.garbage
        return garbage > COMPACT_MIN_BYTES and garbage > self._log.end // 2

    def _maybe_compact(self) -> None:
        if self._needs_compaction():
            self._compact_if_room()

    def _compact_if_room(self) -> None:
        try:
            self.compact()
        except InsufficientStorage as error:  # the log stays as it was; tried again later
            log.warning("cache: could not compact %s: %s", self._log.path, error.message)
