"""Which backups a policy keeps, in tables: the newest N, and the newest of each hour,
day, ISO week and month, as restic's forget computes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roost.domain.retention import KeepPolicy, to_keep

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday


def every(step: timedelta, count: int) -> list[tuple[str, datetime]]:
    """``count`` backups, one each ``step`` back from START, named b0 (newest) on."""
    return [(f"b{i}", START - step * i) for i in range(count)]


@pytest.mark.parametrize(
    ("backups", "policy", "kept"),
    [
        (every(timedelta(hours=1), 5), KeepPolicy(), {"b0", "b1", "b2", "b3", "b4"}),
        (every(timedelta(hours=1), 5), KeepPolicy(last=2), {"b0", "b1"}),
        (every(timedelta(minutes=20), 9), KeepPolicy(hourly=2), {"b0", "b1"}),
        # b0 at 12:00 is alone in its hour; 11:40, 11:20, 11:00 share the next: 11:40
        (every(timedelta(minutes=20), 9), KeepPolicy(hourly=3), {"b0", "b1", "b4"}),
        (every(timedelta(hours=6), 12), KeepPolicy(daily=3), {"b0", "b3", "b7"}),
        (every(timedelta(days=1), 21), KeepPolicy(weekly=3), {"b0", "b1", "b8"}),
        (every(timedelta(days=10), 9), KeepPolicy(monthly=2), {"b0", "b3"}),
        (every(timedelta(hours=6), 12), KeepPolicy(last=1, daily=2), {"b0", "b3"}),
        (every(timedelta(hours=12), 8), KeepPolicy(last=3, daily=3), {"b0", "b1", "b2", "b4"}),
        ([], KeepPolicy(last=3), set()),
    ],
)
def test_what_a_policy_keeps(
    backups: list[tuple[str, datetime]], policy: KeepPolicy, kept: set[str]
) -> None:
    assert to_keep(backups, policy) == kept


def test_the_order_given_does_not_matter() -> None:
    backups = every(timedelta(hours=7), 10)
    policy = KeepPolicy(last=1, daily=2, weekly=2)
    assert to_keep(list(reversed(backups)), policy) == to_keep(backups, policy)


def test_a_week_is_an_iso_week() -> None:
    sunday = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    earlier_sunday = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    kept = to_keep(
        [("mon", monday), ("sun", sunday), ("sun-early", earlier_sunday)], KeepPolicy(weekly=2)
    )
    assert kept == {"mon", "sun"}
