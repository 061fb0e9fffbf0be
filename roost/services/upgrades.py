"""Moving an instance to another version of its app (``roost upgrade``): explicit, never
implied by changing the app. Ports the new version still declares are kept, new ones are
allocated, dropped ones released; files are rendered again and stale ones removed; an
active instance is restarted so that it runs the new version."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict
from roost.domain.layout import service_env_file
from roost.domain.model import Instance
from roost.domain.spec import AppSpec
from roost.domain.states import Action, State
from roost.instance_dir import InstanceDir
from roost.ports import plan_ports
from roost.registry import instances as q
from roost.registry import ports as port_store
from roost.services import instance_files
from roost.services.app_specs import check_version
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance
from roost.services.lifecycle import act
from roost.services.transitions import locked

UPGRADABLE = (State.INACTIVE, State.ACTIVE, State.ERROR, State.PAUSED)


async def upgrade_instance(
    ctx: Context, actor: Actor, instance_id: str, version: str | None = None
) -> Instance:
    """Move the instance to ``version`` (default: the app's current one)."""
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "instance.upgrade", instance_id)
    app = await ctx.apps.get_by_pk(instance.app_pk)
    target = version or app.version
    await check_version(ctx, app, target)
    if target == instance.version:
        return instance
    if instance.state not in UPGRADABLE:
        raise Conflict(
            f"instance {instance_id!r} is {instance.state.value}: it cannot be upgraded now",
            code="INVALID_TRANSITION",
            state=instance.state.value,
            action="upgrade",
        )
    old_spec = await ctx.apps.spec_of_version(app, instance.version)
    new_spec = await ctx.apps.spec_of_version(app, target)
    declared = new_spec.ports if new_spec is not None else {}
    kept = {name: port for name, port in instance.ports.items() if name in declared}
    removed = {name: port for name, port in instance.ports.items() if name not in declared}
    wanted = plan_ports(
        declared,
        stride=new_spec.port_stride if new_spec is not None else 1,
        ordinal=instance.ordinal,
        explicit={},
    )
    added = await ctx.ports.allocate([w for w in wanted if w.name not in kept], auto_fallback=False)
    ports = {name: {**kept, **added}[name] for name in declared}

    def apply(conn: Connection, record: Recorder) -> Instance:
        current = locked(conn, instance_id)
        if current.version != instance.version:
            raise Conflict(
                f"instance {instance_id!r} was upgraded meanwhile", code="CONCURRENT_UPGRADE"
            )
        now = utcnow()
        port_store.delete_ports(conn, current.pk, removed)
        port_store.insert_ports(conn, ctx.ports.host, current.pk, added)
        q.update_instance(conn, current.pk, at=now, version=target, ports=ports)
        record(
            "instance.upgrade",
            current,
            details={
                "from": instance.version,
                "to": target,
                "ports_added": added,
                "ports_removed": removed,
            },
        )
        return replace(current, version=target, ports=ports, updated_at=now)

    try:
        upgraded = await commit(ctx, actor, apply)
    except IntegrityError:
        ctx.ports.release(added.values())
        raise Conflict(
            "a port of the new version was taken meanwhile: try again", code="PORT_CONFLICT"
        ) from None
    except BaseException:
        ctx.ports.release(added.values())
        raise
    ctx.ports.release(removed.values())
    _remove_stale_files(ctx, instance_id, old_spec, new_spec)
    await instance_files.refresh(ctx, upgraded)
    if upgraded.state is State.ACTIVE:
        upgraded = await act(ctx, actor, instance_id, Action.RESTART)
    return upgraded


def _remove_stale_files(
    ctx: Context, instance_id: str, old: AppSpec | None, new: AppSpec | None
) -> None:
    """Rendered files and service env files the new version no longer has."""
    if old is None:
        return
    stale = set(old.files) - set(new.files if new else ())
    stale |= {service_env_file(s) for s in old.services} - {
        service_env_file(s) for s in (new.services if new else ())
    }
    InstanceDir(ctx.home.path, instance_id).remove_files(sorted(stale))
