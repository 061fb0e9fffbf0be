"""The background jobs every ``roost serve`` runs, made for its context.

A subsystem that needs one (health checks, metric sampling, backup schedules) adds its
factory to :data:`STANDARD_JOBS`; the composition root starts whatever is listed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from roost.jobs import Every, Job
from roost.services.backup_schedules import BackupScheduler
from roost.services.context import Context
from roost.services.health_sweep import HealthSweep
from roost.services.logs import ROTATE_EVERY_S, rotate_logs
from roost.services.metrics_sampler import MetricsSampler
from roost.services.webhook_dispatch import WebhookDispatcher

ACTIVITY_FLUSH_EVERY_S = 1.0
CACHE_EXPIRY_EVERY_S = 1.0

JobFactory = Callable[[Context], Job]


def activity_flush(ctx: Context) -> Job:
    """Instances' ``last_active_at``, written off the data plane's path, and once more at
    close so no activity is lost."""
    return Every(
        "activity-flush",
        ACTIVITY_FLUSH_EVERY_S,
        ctx.directory.flush_activity,
        clock=ctx.clock,
        at_close=True,
    )


def cache_expiry(ctx: Context) -> Job:
    """Keys past their time to live, reclaimed even when nothing reads them."""
    return Every("cache-expiry", CACHE_EXPIRY_EVERY_S, ctx.cache.expire, clock=ctx.clock)


def log_rotation(ctx: Context) -> Job:
    return Every(
        "log-rotation", ROTATE_EVERY_S, functools.partial(rotate_logs, ctx), clock=ctx.clock
    )


def health_checks(ctx: Context) -> Job:
    return HealthSweep(ctx)


def metric_sampling(ctx: Context) -> Job:
    """Every active instance sampled, the first time one interval after the start."""
    interval = ctx.settings.metrics_interval_s
    return Every("metrics-sampler", interval, MetricsSampler(ctx).round, clock=ctx.clock)


def webhook_deliveries(ctx: Context) -> Job:
    return WebhookDispatcher(ctx)


def backup_schedules(ctx: Context) -> Job:
    return BackupScheduler(ctx)


STANDARD_JOBS: tuple[JobFactory, ...] = (
    activity_flush,
    cache_expiry,
    log_rotation,
    health_checks,
    metric_sampling,
    webhook_deliveries,
    backup_schedules,
)
