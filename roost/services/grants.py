"""Sharing an instance: its owner (or an admin) gives another user a role on it
(``viewer``, ``operator`` or ``owner``), or takes it back."""

from __future__ import annotations

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.access import GRANTABLE, Role
from roost.domain.clock import utcnow
from roost.domain.errors import InvalidInput, NotFound
from roost.registry import users as store
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.instances import get_instance
from roost.services.transitions import locked
from roost.services.users import check_user_name, user_not_found


def _grantable(role: str) -> Role:
    try:
        granted = Role.named(role)
    except ValueError:
        granted = Role.CACHE
    if granted not in GRANTABLE:
        raise InvalidInput(
            f"a grant's role is viewer, operator or owner, not {role!r}", code="INVALID_ROLE"
        )
    return granted


async def _may_share(ctx: Context, actor: Actor, instance_id: str, user: str) -> None:
    check_user_name(user)
    await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "grant.change", instance_id)


async def share(ctx: Context, actor: Actor, instance_id: str, user: str, role: str) -> None:
    granted = _grantable(role)
    await _may_share(ctx, actor, instance_id, user)

    def apply(conn: Connection, record: Recorder) -> None:
        instance = locked(conn, instance_id)
        row = store.get_user(conn, user)
        if row is None:
            raise user_not_found(user)
        store.put_grant(conn, instance.pk, row.pk, granted, utcnow())
        record("grant.set", instance, details={"user": user, "role": granted.label})

    await commit(ctx, actor, apply)


async def unshare(ctx: Context, actor: Actor, instance_id: str, user: str) -> None:
    await _may_share(ctx, actor, instance_id, user)

    def apply(conn: Connection, record: Recorder) -> None:
        instance = locked(conn, instance_id)
        row = store.get_user(conn, user)
        if row is None or not store.delete_grant(conn, instance.pk, row.pk):
            raise NotFound(
                f"instance {instance_id!r} is not shared with {user!r}", code="GRANT_NOT_FOUND"
            )
        record("grant.remove", instance, details={"user": user})

    await commit(ctx, actor, apply)


async def grants_of(ctx: Context, actor: Actor, instance_id: str) -> dict[str, str]:
    """Who was given what on the instance (its owner is on the instance itself)."""
    instance = await get_instance(ctx, actor, instance_id)
    await ctx.policy.authorize(actor, "grant.change", instance_id)
    found = await ctx.registry.read(store.grants_of, instance.pk)
    return {name: role.label for name, role in found.items()}
