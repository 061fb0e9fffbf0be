"""The embedded backend: an append-only log on disk, an index in memory (Bitcask's design).

Every write is appended to ``cache.log`` with one ``write(2)`` before it is acknowledged,
so it survives a crash of the process (``kill -9``): the bytes are in the kernel. Reads
never touch the disk for values held in memory; past the memory budget, values are
dropped from memory (least recently used first) and read back with ``pread(2)``.
On open, the log is replayed to rebuild the index; a torn record at the end (a crash in
the middle of a write) is cut off. When most of the log is dead records, it is
rewritten with only the live ones.

All methods run on the event loop without awaiting in between, so each operation,
including a quota check and the write it guards, is atomic.
"""

from __future__ import annotations

import heapq
import mmap
import os
import struct
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from sortedcontainers import SortedList

from roost.cache.backend import CacheBackend, Limits, Usage, entry_size, over_quota
from roost.home import private

# crc32 of the rest | op | namespace length | key length | value length | expiry (ms, 0 = none)
HEADER = struct.Struct("<IBBHIq")
PUT, DELETE, DROP = 1, 2, 3
LOG_NAME = "cache.log"
DEFAULT_MEMORY_BUDGET = 64 * 1024 * 1024
COMPACT_MIN_BYTES = 64 * 1024 * 1024


class Entry:
    __slots__ = ("expires_ms", "length", "offset", "size", "value")

    def __init__(self, offset: int, length: int, expires_ms: int, size: int) -> None:
        self.offset = offset  # where the value starts in the log
        self.length = length
        self.expires_ms = expires_ms
        self.size = size  # what it counts against max_bytes
        self.value: bytes | None = None  # held in memory while the budget allows


class Namespace:
    __slots__ = ("bytes", "entries", "order")

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.order: SortedList = SortedList()  # keys in code point (= UTF-8 byte) order
        self.bytes = 0


def _record(op: int, namespace: bytes, key: bytes, value: bytes, expires_ms: int) -> bytes:
    body = HEADER.pack(0, op, len(namespace), len(key), len(value), expires_ms)[4:]
    body += namespace + key + value
    return struct.pack("<I", zlib.crc32(body)) + body


class EmbeddedStore(CacheBackend):
    def __init__(
        self,
        folder: Path,
        *,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._path = folder / LOG_NAME
        self._budget = memory_budget
        self._clock = clock
        self._spaces: dict[str, Namespace] = {}
        self._expiries: list[tuple[int, int, str, str, Entry]] = []
        self._sequence = 0
        self._cached: OrderedDict[Entry, None] = OrderedDict()
        self._cached_bytes = 0
        self._garbage = 0
        (folder / (LOG_NAME + ".compact")).unlink(missing_ok=True)
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        private(self._path, 0o600)  # values are the instances' own data
        self._end = self._replay()
        if self._needs_compaction():
            self.compact()

    # -- reads -------------------------------------------------------------------------

    async def get(self, namespace: str, key: str) -> bytes | None:
        entry = self._live(namespace, key)
        return None if entry is None else self._value(entry)

    async def get_many(self, namespace: str, keys: list[str]) -> dict[str, bytes]:
        found = {}
        for key in keys:
            entry = self._live(namespace, key)
            if entry is not None:
                found[key] = self._value(entry)
        return found

    async def list_keys(
        self, namespace: str, prefix: str, after: str | None, limit: int
    ) -> list[str]:
        space = self._spaces.get(namespace)
        if space is None:
            return []
        self._expire_due()
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

    async def usage(self, namespace: str) -> Usage:
        self._expire_due()
        space = self._spaces.get(namespace)
        return Usage(0, 0) if space is None else Usage(space.bytes, len(space.entries))

    # -- writes ------------------------------------------------------------------------

    async def put_many(
        self, namespace: str, entries: dict[str, bytes], ttl_s: float | None, limits: Limits
    ) -> None:
        self._expire_due()
        space = self._spaces.get(namespace) or Namespace()
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
        offset = self._end
        placed = []
        for key, value in entries.items():
            key_bytes = key.encode()
            record = _record(PUT, ns, key_bytes, value, expires_ms)
            value_at = offset + HEADER.size + len(ns) + len(key_bytes)
            entry = Entry(value_at, len(value), expires_ms, len(key_bytes) + len(value))
            placed.append((key, value, entry))
            records.append(record)
            offset += len(record)
        self._append(b"".join(records))
        self._spaces[namespace] = space
        for key, value, entry in placed:
            self._install(space, namespace, key, entry)
            self._remember(entry, value)

    async def delete_many(self, namespace: str, keys: list[str]) -> int:
        self._expire_due()
        space = self._spaces.get(namespace)
        if space is None:
            return 0
        present = [key for key in dict.fromkeys(keys) if key in space.entries]
        if not present:
            return 0
        ns = namespace.encode()
        self._append(b"".join(_record(DELETE, ns, key.encode(), b"", 0) for key in present))
        for key in present:
            self._remove(space, key)
        return len(present)

    async def drop(self, namespace: str) -> None:
        space = self._spaces.pop(namespace, None)
        if space is None:
            return
        self._append(_record(DROP, namespace.encode(), b"", b"", 0))
        for entry in space.entries.values():
            self._forget_value(entry)
            self._garbage += entry.length
        self._maybe_compact()

    async def close(self) -> None:
        os.close(self._fd)

    # -- maintenance -------------------------------------------------------------------

    async def expire(self) -> int:
        """Reclaim every expired key now; how many there were (run on a timer)."""
        reclaimed = self._expire_due()
        self._maybe_compact()
        return reclaimed

    def compact(self) -> None:
        """Rewrite the log with only live records (atomic: write, fsync, rename)."""
        self._expire_due()
        temporary = self._path.with_name(LOG_NAME + ".compact")
        moved: list[tuple[Entry, int]] = []
        with open(temporary, "wb") as out:
            position = 0
            for namespace, space in self._spaces.items():
                ns = namespace.encode()
                for key, entry in space.entries.items():
                    key_bytes = key.encode()
                    record = _record(PUT, ns, key_bytes, self._value(entry), entry.expires_ms)
                    out.write(record)
                    moved.append((entry, position + HEADER.size + len(ns) + len(key_bytes)))
                    position += len(record)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self._path)
        directory = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        os.close(self._fd)
        self._fd = os.open(self._path, os.O_RDWR | os.O_APPEND)
        for entry, offset in moved:
            entry.offset = offset
        self._end = position
        self._garbage = 0

    @property
    def log_bytes(self) -> int:
        return self._end

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes

    # -- internals ---------------------------------------------------------------------

    def _append(self, data: bytes) -> None:
        written = os.write(self._fd, data)
        if written != len(data):  # a short write to a regular file: the disk is full
            os.ftruncate(self._fd, self._end)
            raise OSError(f"short write to {self._path}: {written} of {len(data)} bytes")
        self._end += written

    def _live(self, namespace: str, key: str) -> Entry | None:
        space = self._spaces.get(namespace)
        if space is None:
            return None
        entry = space.entries.get(key)
        if entry is None:
            return None
        if entry.expires_ms and entry.expires_ms <= self._clock() * 1000:
            self._remove(space, key)
            return None
        return entry

    def _value(self, entry: Entry) -> bytes:
        if entry.value is not None:
            self._cached.move_to_end(entry)
            return entry.value
        value = os.pread(self._fd, entry.length, entry.offset)
        self._remember(entry, value)
        return value

    def _remember(self, entry: Entry, value: bytes) -> None:
        if len(value) > self._budget:
            return
        entry.value = value
        self._cached[entry] = None
        self._cached_bytes += len(value)
        while self._cached_bytes > self._budget:
            oldest, _ = self._cached.popitem(last=False)
            self._cached_bytes -= oldest.length
            oldest.value = None

    def _forget_value(self, entry: Entry) -> None:
        if entry.value is not None:
            del self._cached[entry]
            self._cached_bytes -= entry.length
            entry.value = None

    def _install(self, space: Namespace, namespace: str, key: str, entry: Entry) -> None:
        old = space.entries.get(key)
        if old is not None:
            self._forget_value(old)
            space.bytes -= old.size
            self._garbage += old.length
        else:
            space.order.add(key)
        space.entries[key] = entry
        space.bytes += entry.size
        if entry.expires_ms:
            self._sequence += 1
            heapq.heappush(
                self._expiries, (entry.expires_ms, self._sequence, namespace, key, entry)
            )

    def _remove(self, space: Namespace, key: str) -> None:
        entry = space.entries.pop(key)
        space.order.remove(key)
        space.bytes -= entry.size
        self._garbage += entry.length
        self._forget_value(entry)

    def _expire_due(self) -> int:
        now_ms = self._clock() * 1000
        reclaimed = 0
        while self._expiries and self._expiries[0][0] <= now_ms:
            _, _, namespace, key, entry = heapq.heappop(self._expiries)
            space = self._spaces.get(namespace)
            if space is not None and space.entries.get(key) is entry:
                self._remove(space, key)
                reclaimed += 1
        return reclaimed

    def _needs_compaction(self) -> bool:
        return self._garbage > COMPACT_MIN_BYTES and self._garbage > self._end // 2

    def _maybe_compact(self) -> None:
        if self._needs_compaction():
            self.compact()

    def _replay(self) -> int:
        size = os.fstat(self._fd).st_size
        if size == 0:
            return 0
        now_ms = self._clock() * 1000
        with mmap.mmap(self._fd, size, access=mmap.ACCESS_READ) as log:
            position = 0
            while position + HEADER.size <= size:
                crc, op, ns_len, key_len, value_len, expires_ms = HEADER.unpack_from(log, position)
                end = position + HEADER.size + ns_len + key_len + value_len
                if end > size or zlib.crc32(log[position + 4 : end]) != crc:
                    break  # a torn write at the end: everything before it is good
                at = position + HEADER.size
                namespace = log[at : at + ns_len].decode()
                key = log[at + ns_len : at + ns_len + key_len].decode()
                self._apply(
                    op, namespace, key, at + ns_len + key_len, value_len, expires_ms, now_ms
                )
                position = end
        if position < size:
            os.ftruncate(self._fd, position)
        return position

    def _apply(
        self,
        op: int,
        namespace: str,
        key: str,
        value_at: int,
        value_len: int,
        expires_ms: int,
        now_ms: float,
    ) -> None:
        if op == DROP:
            space = self._spaces.pop(namespace, None)
            if space is not None:
                self._garbage += sum(entry.length for entry in space.entries.values())
            return
        space = self._spaces.setdefault(namespace, Namespace())
        if op == DELETE:
            if key in space.entries:
                self._remove(space, key)
            return
        if expires_ms and expires_ms <= now_ms:
            if key in space.entries:
                self._remove(space, key)
            self._garbage += value_len
            return
        size = len(key.encode()) + value_len
        self._install(space, namespace, key, Entry(value_at, value_len, expires_ms, size))
