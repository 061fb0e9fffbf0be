"""Feature quotas per instance (seed 000's "Workflow 3"): consume, read, reset."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.errors import QuotaExceeded, instance_not_found
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance
from roost.quotas import quota_limit
from roost.registry import instances as q
from roost.registry import usage as store
from roost.services.changes import Recorder, commit
from roost.services.context import Context


@dataclass(frozen=True)
class Usage:
    instance_id: str
    feature_id: str
    consumed: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.consumed, 0)


async def consume(
    ctx: Context, actor: Actor, instance: Instance, feature_id: str, units: int
) -> Usage:
    """Consume ``units`` of ``feature_id``; past the limit, 429 and nothing is consumed."""
    await ctx.policy.authorize(actor, "usage.consume", instance.instance_id)
    app = await ctx.apps.get_by_pk(instance.app_pk)
    limit = quota_limit(feature_id, instance.config, app.quotas)

    def apply(conn: Connection, record: Recorder) -> int | None:
        total = store.consume(conn, instance.pk, feature_id, units, limit)
        if total is not None:
            record(
                "usage.consume",
                instance,
                details={"feature_id": feature_id, "units": units, "consumed": total},
            )
        return total

    total = await commit(ctx, actor, apply)
    if total is None:
        current = await ctx.registry.read(store.consumed, instance.pk, feature_id)
        raise QuotaExceeded(
            f"quota for feature {feature_id!r} exceeded: {units} requested,"
            f" {max(limit - current, 0)} of {limit} remaining",
            instance_id=instance.instance_id,
            feature_id=feature_id,
            consumed=current,
            remaining=max(limit - current, 0),
            limit=limit,
        )
    return Usage(instance.instance_id, feature_id, total, limit)


async def usage_of(ctx: Context, actor: Actor, instance: Instance) -> list[Usage]:
    await ctx.policy.authorize(actor, "usage.read", instance.instance_id)
    app = await ctx.apps.get_by_pk(instance.app_pk)
    consumed = await ctx.registry.read(store.all_consumed, instance.pk)
    return [
        Usage(
            instance.instance_id, feature, used, quota_limit(feature, instance.config, app.quotas)
        )
        for feature, used in consumed.items()
    ]


async def reset(ctx: Context, actor: Actor, instance_id: str, feature_id: str | None) -> list[str]:
    """An explicit, recorded reset: quotas never reset by themselves."""
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, "usage.reset", instance_id)

    def apply(conn: Connection, record: Recorder) -> list[str]:
        instance = q.get_instance(conn, instance_id)
        if instance is None:
            raise instance_not_found(instance_id)
        features = store.reset(conn, instance.pk, feature_id)
        record("usage.reset", instance, details={"feature_id": feature_id, "reset": features})
        return features

    return await commit(ctx, actor, apply)
