"""Disk bytes of each instance's directory, measured off the event loop and kept: a
folder is walked again only when its last measure is older than :data:`REMEASURE_S`,
never at every sample, and at most :data:`WALKS_AT_ONCE` folders at a time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from roost.jobs import Background

REMEASURE_S = 300.0
WALKS_AT_ONCE = 2


def disk_bytes(folder: Path) -> int:
    """What the files under ``folder`` take on disk (allocated blocks, as ``du``);
    symbolic links are not followed, and what vanishes during the walk is skipped."""
    total = 0
    pending = [str(folder)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    try:
                        stat = entry.stat(follow_symlinks=False)
                        total += stat.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                    except OSError:
                        continue
        except OSError:
            continue
    return total


class DiskMeter:
    def __init__(self, clock: Callable[[], float], background: Background) -> None:
        self._clock = clock  # monotonic seconds
        self._background = background
        self._known: dict[str, tuple[int, float]] = {}  # id -> (bytes, when measured)
        self._walking: set[str] = set()
        self._gate = asyncio.Semaphore(WALKS_AT_ONCE)

    def bytes_of(self, instance_id: str, folder: Path) -> int | None:
        """The last measure (None before the first); a new one is begun when it is old."""
        known = self._known.get(instance_id)
        stale = known is None or self._clock() - known[1] >= REMEASURE_S
        if stale and instance_id not in self._walking:
            self._walking.add(instance_id)
            self._background.run(self._measure(instance_id, folder))
        return None if known is None else known[0]

    async def _measure(self, instance_id: str, folder: Path) -> None:
        try:
            async with self._gate:
                found = await asyncio.to_thread(disk_bytes, folder)
            self._known[instance_id] = (found, self._clock())
        finally:
            self._walking.discard(instance_id)

    def keep_only(self, instance_ids: set[str]) -> None:
        for gone in self._known.keys() - instance_ids:
            del self._known[gone]
