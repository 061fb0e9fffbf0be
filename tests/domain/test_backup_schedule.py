"""Backup schedules and rotation (pure): every or cron, per-instance overrides, what is
due, and which backups rotation removes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roost.domain.backup_schedule import Schedule, Taken, schedule_of, to_prune
from roost.domain.errors import InvalidInput
from roost.domain.retention import KeepPolicy

T0 = datetime(2026, 11, 30, 10, 17, tzinfo=UTC)


def test_every_and_cron_give_the_next_run() -> None:
    assert schedule_of({"every": "6h"}, {}).next_after(T0) == T0 + timedelta(hours=6)
    nightly = schedule_of({"cron": "0 4 * * *"}, {})
    assert nightly.next_after(T0) == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    assert nightly.next_after(datetime(2026, 12, 1, 4, 0, tzinfo=UTC)) == datetime(
        2026, 12, 2, 4, 0, tzinfo=UTC
    )
    assert not schedule_of({}, {}).runs and schedule_of({"every": "1m"}, {}).runs


def test_an_instance_s_config_overrides_the_app_s_schedule() -> None:
    app = {"cron": "0 4 * * *", "keep_daily": 7}
    mine = schedule_of(app, {"backup": {"every": "2h", "keep_last": 2}})
    assert (mine.every_s, mine.cron) == (7200.0, None)  # its timing replaces the app's
    assert mine.keep == KeepPolicy(last=2, daily=7)
    assert schedule_of(app, {"backup": "not a table"}).cron == "0 4 * * *"
    assert schedule_of(app, {}).keep == KeepPolicy(last=5, daily=7)


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({"every": "1h", "cron": "0 * * * *"}, "not both"),
        ({"cron": "0 4 * *"}, "five fields"),
        ({"cron": "61 4 * * *"}, "five fields"),
        ({"cron": "@daily"}, "five fields"),
        ({"every": "10s"}, "at least 1m"),
        ({"every": "soon"}, "duration"),
        ({"keep_daily": -1}, "whole number"),
        ({"keep_last": "5"}, "whole number"),
        ({"keep_weekly": True}, "whole number"),
    ],
)
def test_a_bad_schedule_says_why(spec: dict[str, object], said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        schedule_of(spec, {})


def taken(hours_ago: float, kind: str = "scheduled", status: str = "completed") -> Taken:
    at = T0 - timedelta(hours=hours_ago)
    return Taken(f"{kind}-{hours_ago}", kind, status, at)


def test_rotation_removes_what_the_policy_does_not_keep_oldest_first() -> None:
    backups = [taken(h) for h in (0, 1, 2, 3, 4)]
    assert to_prune(backups, Schedule(keep=KeepPolicy(last=2))) == [
        "scheduled-4",
        "scheduled-3",
        "scheduled-2",
    ]


def test_manual_and_other_kinds_are_kept_unless_manual_ones_opt_in() -> None:
    backups = [taken(0), taken(1), taken(2, "manual"), taken(3, "pre-restore"), taken(4)]
    policy = KeepPolicy(last=1)
    assert to_prune(backups, Schedule(keep=policy)) == ["scheduled-4", "scheduled-1"]
    opted = to_prune(backups, Schedule(keep=policy, rotate_manual=True))
    assert opted == ["scheduled-4", "manual-2", "scheduled-1"]


def test_failed_backups_neither_count_nor_go_and_the_only_completed_one_stays() -> None:
    # a failed backup is no day's backup: the completed one of the day is kept
    backups = [taken(0, status="failed"), taken(1, "manual"), taken(2), taken(3)]
    assert to_prune(backups, Schedule(keep=KeepPolicy(daily=1))) == ["scheduled-3"]
    assert to_prune(backups, Schedule(keep=KeepPolicy())) == []  # zeros keep everything
    only = [taken(30 * 24), taken(0, status="failed")]  # a month old, and then failures
    assert to_prune(only, Schedule(keep=KeepPolicy(hourly=1))) == []
