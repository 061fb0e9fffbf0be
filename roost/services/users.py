"""Users: who may hold tokens. Admins manage them; the first admin is made when a server
that checks tokens starts with none (``bootstrap_admin``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor
from roost.domain.access import Role
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, InvalidInput, NotFound
from roost.domain.names import USER_NAME
from roost.registry import users as store
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.tokens import given_token, new_token

BOOTSTRAP_USER = "admin"


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    created_at: datetime


def check_user_name(name: str) -> None:
    if not USER_NAME.matches(name):
        raise InvalidInput(
            f"invalid user name {name!r}: 1-63 lowercase letters, digits, '_', '.' or '-',"
            " starting with a letter or digit",
            code="INVALID_USER_NAME",
        )


async def add_user(ctx: Context, actor: Actor, name: str, *, admin: bool = False) -> User:
    check_user_name(name)
    await ctx.policy.authorize(actor, "user.manage")
    now = utcnow()

    def apply(conn: Connection, record: Recorder) -> None:
        store.insert_user(conn, name, admin=admin, at=now)
        record("user.add", details={"user": name, "admin": admin})

    try:
        await commit(ctx, actor, apply)
    except IntegrityError:
        raise Conflict(f"user {name!r} already exists", code="USER_EXISTS") from None
    return User(name, admin, now)


async def list_users(ctx: Context, actor: Actor) -> list[User]:
    await ctx.policy.authorize(actor, "user.manage")
    rows = await ctx.registry.read(store.list_users)
    return [User(row.name, row.admin, row.created_at) for row in rows]


async def remove_user(ctx: Context, actor: Actor, name: str) -> None:
    """The user and its tokens and grants (what it owns stays, for admins to manage)."""
    check_user_name(name)
    await ctx.policy.authorize(actor, "user.manage")

    def apply(conn: Connection, record: Recorder) -> None:
        row = store.get_user(conn, name)
        if row is None:
            raise user_not_found(name)
        store.delete_user(conn, row.pk)
        record("user.remove", details={"user": name})

    await commit(ctx, actor, apply)
    ctx.authenticator.forget_tokens()


def user_not_found(name: str) -> NotFound:
    return NotFound(f"user {name!r} not found", code="USER_NOT_FOUND", user=name)


async def bootstrap_admin(ctx: Context, actor: Actor, given: str | None) -> str | None:
    """With no admin yet: the user ``admin`` and its first token (``given``, else a new
    one, returned to be shown once). None when an admin exists already."""
    if await ctx.registry.read(store.any_admin):
        return None
    if given is not None:
        token_id, secret_hash = given_token(given)
        shown = None
    else:
        shown, token_id, secret_hash = new_token()
    now = utcnow()

    def apply(conn: Connection, record: Recorder) -> None:
        existing = store.get_user(conn, BOOTSTRAP_USER)
        if existing is not None and not existing.admin:
            raise Conflict(
                f"the user {BOOTSTRAP_USER!r} exists and is no admin: make an admin by hand",
                code="BOOTSTRAP_CONFLICT",
            )
        if existing is not None:
            pk = existing.pk
        else:
            pk = store.insert_user(conn, BOOTSTRAP_USER, admin=True, at=now)
        store.insert_token(
            conn,
            token_id=token_id,
            user_pk=pk,
            name="bootstrap",
            role=Role.ADMIN,
            instances=None,
            apps=None,
            secret_hash=secret_hash,
            at=now,
            expires_at=None,
        )
        record("user.bootstrap", details={"user": BOOTSTRAP_USER, "token": token_id})

    await commit(ctx, actor, apply)
    return shown
