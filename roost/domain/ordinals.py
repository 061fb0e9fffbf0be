"""Ordinals of one app: which are taken, and the smallest free one."""

from __future__ import annotations

from collections.abc import Iterable


class OrdinalBook:
    """Taken ordinals of one app, with O(1) amortised "smallest free".

    ``_low`` is a lower bound of the smallest free ordinal: everything below it is
    taken, so a search starts there and a release can only move it down.
    """

    def __init__(self, taken: Iterable[int] = ()) -> None:
        self._taken = set(taken)
        self._low = 0

    def __contains__(self, ordinal: int) -> bool:
        return ordinal in self._taken

    def take_smallest_free(self) -> int:
        while self._low in self._taken:
            self._low += 1
        self._taken.add(self._low)
        return self._low

    def take(self, ordinal: int) -> bool:
        """Take ``ordinal``; False when it is taken already."""
        if ordinal in self._taken:
            return False
        self._taken.add(ordinal)
        return True

    def release(self, ordinal: int) -> None:
        self._taken.discard(ordinal)
        self._low = min(self._low, ordinal)
