"""The embedded store's index in memory: every live key of every namespace, where its
value is in the log, when it expires, and which values are held in memory (least
recently used first out, within a byte budget). Pure bookkeeping: nothing here reads or
writes the log."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable

from sortedcontainers import SortedList

from roost.cache.log_format import DROP, PUT, Record


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


class Index:
    def __init__(self, memory_budget: int, clock: Callable[[], float]) -> None:
        self.spaces: dict[str, Namespace] = {}
        self.garbage = 0  # bytes of values in the log that no key points at any more
        self.cached_bytes = 0
        self._budget = memory_budget
        self._clock = clock
        self._expiries: list[tuple[int, int, str, str, Entry]] = []
        self._sequence = 0
        self._cached: OrderedDict[Entry, None] = OrderedDict()

    def live(self, namespace: str, key: str) -> Entry | None:
        space = self.spaces.get(namespace)
        if space is None:
            return None
        entry = space.entries.get(key)
        if entry is None:
            return None
        if entry.expires_ms and entry.expires_ms <= self._clock() * 1000:
            self.remove(space, key)
            return None
        return entry

    def cached(self, entry: Entry) -> bytes | None:
        if entry.value is not None:
            self._cached.move_to_end(entry)
        return entry.value

    def remember(self, entry: Entry, value: bytes) -> None:
        if len(value) > self._budget:
            return
        entry.value = value
        self._cached[entry] = None
        self.cached_bytes += len(value)
        while self.cached_bytes > self._budget:
            oldest, _ = self._cached.popitem(last=False)
            self.cached_bytes -= oldest.length
            oldest.value = None

    def install(self, space: Namespace, namespace: str, key: str, entry: Entry) -> None:
        old = space.entries.get(key)
        if old is not None:
            self._forget_value(old)
            space.bytes -= old.size
            self.garbage += old.length
        else:
            space.order.add(key)
        space.entries[key] = entry
        space.bytes += entry.size
        if entry.expires_ms:
            self._sequence += 1
            heapq.heappush(
                self._expiries, (entry.expires_ms, self._sequence, namespace, key, entry)
            )

    def remove(self, space: Namespace, key: str) -> None:
        entry = space.entries.pop(key)
        space.order.remove(key)
        space.bytes -= entry.size
        self.garbage += entry.length
        self._forget_value(entry)

    def discard(self, namespace: str, key: str, entry: Entry | None = None) -> None:
        """Forget ``key`` if it is there (and still ``entry``, when given)."""
        space = self.spaces.get(namespace)
        if space is None:
            return
        found = space.entries.get(key)
        if found is not None and (entry is None or found is entry):
            self.remove(space, key)

    def drop(self, namespace: str) -> None:
        space = self.spaces.pop(namespace, None)
        if space is None:
            return
        for entry in space.entries.values():
            self._forget_value(entry)
            self.garbage += entry.length

    def expire_due(self) -> int:
        now_ms = self._clock() * 1000
        reclaimed = 0
        while self._expiries and self._expiries[0][0] <= now_ms:
            _, _, namespace, key, entry = heapq.heappop(self._expiries)
            space = self.spaces.get(namespace)
            if space is not None and space.entries.get(key) is entry:
                self.remove(space, key)
                reclaimed += 1
        return reclaimed

    def apply(self, now_ms: float, record: Record) -> None:
        """A record read back from the log, in the order it was written. (Replay only:
        keys are put in order once at the end, by :meth:`replayed`; nothing is cached.)"""
        op, namespace, key, key_len, value_at, value_len, expires_ms = record
        space = self.spaces.get(namespace)
        if op == DROP:
            self.drop(namespace)
            return
        if op == PUT and not (expires_ms and expires_ms <= now_ms):
            if space is None:
                space = self.spaces[namespace] = Namespace()
            entry = Entry(value_at, value_len, expires_ms, key_len + value_len)
            old = space.entries.get(key)
            if old is not None:
                space.bytes -= old.size
                self.garbage += old.length
            space.entries[key] = entry
            space.bytes += entry.size
            if expires_ms:
                self._sequence += 1
                heapq.heappush(self._expiries, (expires_ms, self._sequence, namespace, key, entry))
            return
        self.garbage += value_len  # a delete, or a value whose time has passed
        self.lost_in_replay(namespace, key)

    def lost_in_replay(self, namespace: str, key: str) -> None:
        """Forget ``key`` during replay (before :meth:`replayed` puts keys in order)."""
        space = self.spaces.get(namespace)
        old = None if space is None else space.entries.pop(key, None)
        if space is not None and old is not None:
            space.bytes -= old.size
            self.garbage += old.length

    def replayed(self) -> None:
        """Replay is over: every namespace's keys in order, once."""
        for space in self.spaces.values():
            space.order = SortedList(space.entries)

    def _forget_value(self, entry: Entry) -> None:
        if entry.value is not None:
            del self._cached[entry]
            self.cached_bytes -= entry.length
            entry.value = None
