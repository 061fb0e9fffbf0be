"""When an instance is backed up on its own, and which of its backups rotation removes
(pure).

A schedule comes from the app spec's ``[apps.X.backup]`` and may be set per instance in
its config under ``backup`` (``{"backup": {"cron": "0 4 * * *", "keep_daily": 7}}``):
``every`` (a duration: ``6h``) or ``cron`` (five fields, UTC), and the ``keep_*`` counts
of :class:`roost.domain.retention.KeepPolicy`. Only ``scheduled`` backups rotate, and
``manual`` ones too when ``rotate_manual`` is set; pre-restore, pre-delete and uploaded
backups are kept until someone deletes them. Rotation never removes the newest
completed backup of an instance, whatever the policy says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field

from roost.domain.backups import Target
from roost.domain.durations import parse_duration
from roost.domain.errors import InvalidInput
from roost.domain.retention import KeepPolicy, to_keep


class BackupSpec(BaseModel):
    """An app spec's ``[apps.X.backup]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(default_factory=lambda: ["data"])
    # when it is backed up on its own (one of the two) and which backups rotation keeps;
    # an instance's config may set them under ``backup`` (:func:`schedule_of`)
    every: str | None = None
    cron: str | None = None
    keep_last: Annotated[int, Field(ge=0, le=10_000)] = 5
    keep_hourly: Annotated[int, Field(ge=0, le=10_000)] = 0
    keep_daily: Annotated[int, Field(ge=0, le=10_000)] = 0
    keep_weekly: Annotated[int, Field(ge=0, le=10_000)] = 0
    keep_monthly: Annotated[int, Field(ge=0, le=10_000)] = 0
    rotate_manual: bool = False
    target: Target = "archive"  # where its backups go by default
    pre: Annotated[list[str], Field(min_length=1)] | None = None  # before the copy (flush)
    post: Annotated[list[str], Field(min_length=1)] | None = None  # after it, always
    mode: Literal["live", "stop", "pause"] = "live"  # what the services do meanwhile


MIN_EVERY_S = 60.0
KEEPS = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly")


def check_cron(expression: str) -> str:
    """A five-field cron expression, or InvalidInput saying why not."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidInput(
            f"backup.cron: {expression!r} is not a cron expression of five fields (minute "
            "hour day month weekday), such as '0 4 * * *'",
            code="INVALID_SCHEDULE",
        )
    return expression


@dataclass(frozen=True)
class Schedule:
    every_s: float | None = None
    cron: str | None = None
    keep: KeepPolicy = field(default_factory=lambda: KeepPolicy(last=5))
    rotate_manual: bool = False

    @property
    def runs(self) -> bool:
        return self.every_s is not None or self.cron is not None

    def next_after(self, at: datetime) -> datetime:
        """The first run due after ``at``."""
        if self.every_s is not None:
            return at + timedelta(seconds=self.every_s)
        assert self.cron is not None
        following: datetime = croniter(self.cron, at.astimezone(UTC)).get_next(datetime)
        return following

    def rotates(self, kind: str) -> bool:
        return kind == "scheduled" or (kind == "manual" and self.rotate_manual)


def schedule_of(spec: Mapping[str, Any], config: Mapping[str, Any]) -> Schedule:
    """The schedule of an instance: the app spec's ``backup`` table (``spec``), with what
    its config's ``backup`` object sets over it. InvalidInput says what is wrong."""
    found = config.get("backup")
    overrides: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    merged = {**spec, **overrides}
    # the instance's timing, if it gives one, replaces the app's whole
    timing = overrides if "every" in overrides or "cron" in overrides else spec
    every, cron = timing.get("every"), timing.get("cron")
    if every is not None and cron is not None:
        raise InvalidInput("backup: give every or cron, not both", code="INVALID_SCHEDULE")
    every_s = None
    if every is not None:
        every_s = parse_duration(every, field="backup.every")
        if every_s < MIN_EVERY_S:
            raise InvalidInput("backup.every must be at least 1m", code="INVALID_SCHEDULE")
    counts = {}
    for name in KEEPS:
        value = merged.get(name, 5 if name == "keep_last" else 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
            raise InvalidInput(
                f"backup.{name} must be a whole number from 0 to 10000", code="INVALID_SCHEDULE"
            )
        counts[name.removeprefix("keep_")] = value
    return Schedule(
        every_s=every_s,
        cron=None if cron is None else check_cron(str(cron)),
        keep=KeepPolicy(**counts),
        rotate_manual=bool(merged.get("rotate_manual", False)),
    )


@dataclass(frozen=True)
class Taken:
    """A backup as rotation sees it."""

    name: str
    kind: str
    status: str
    created_at: datetime


def to_prune(backups: Sequence[Taken], schedule: Schedule) -> list[str]:
    """The names of completed backups the policy no longer keeps, oldest first. Only
    kinds that rotate are counted and removed; the newest completed backup stays."""
    completed = sorted((b for b in backups if b.status == "completed"), key=lambda b: b.created_at)
    if not completed or not schedule.keep.rotates:
        return []
    rotating = [b for b in completed if schedule.rotates(b.kind)]
    kept = to_keep([(b.name, b.created_at) for b in rotating], schedule.keep)
    kept.add(completed[-1].name)
    return [b.name for b in rotating if b.name not in kept]
