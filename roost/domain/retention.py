"""Which backups a retention policy keeps (pure): grandfather-father-son, as
``restic forget --keep-*`` computes it.

Backups are taken newest first. ``last`` keeps the newest N. Each of ``hourly``,
``daily``, ``weekly`` (ISO weeks) and ``monthly`` keeps the newest backup of each of
the last N hours (days, weeks, months) that have one. A backup any rule keeps is kept.
A policy of all zeros keeps everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class KeepPolicy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0

    @property
    def rotates(self) -> bool:
        return any((self.last, self.hourly, self.daily, self.weekly, self.monthly))


def _hour(at: datetime) -> tuple[int, ...]:
    return (at.year, at.month, at.day, at.hour)


def _day(at: datetime) -> tuple[int, ...]:
    return (at.year, at.month, at.day)


def _week(at: datetime) -> tuple[int, ...]:
    year, week, _ = at.isocalendar()
    return (year, week)


def _month(at: datetime) -> tuple[int, ...]:
    return (at.year, at.month)


def to_keep(backups: Sequence[tuple[str, datetime]], policy: KeepPolicy) -> set[str]:
    """The names of ``backups`` (name, taken at) that ``policy`` keeps."""
    if not policy.rotates:
        return {name for name, _ in backups}
    newest_first = sorted(backups, key=lambda b: b[1], reverse=True)
    kept = {name for name, _ in newest_first[: policy.last]}
    rules: list[tuple[int, Callable[[datetime], tuple[int, ...]]]] = [
        (policy.hourly, _hour),
        (policy.daily, _day),
        (policy.weekly, _week),
        (policy.monthly, _month),
    ]
    for count, bucket in rules:
        seen: set[tuple[int, ...]] = set()
        for name, at in newest_first:
            if len(seen) >= count:
                break
            key = bucket(at)
            if key not in seen:
                seen.add(key)
                kept.add(name)
    return kept
