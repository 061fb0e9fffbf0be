"""API tokens (``roost/tokens.py`` makes and checks them): made, listed, revoked.

A user makes tokens for itself; an admin for anyone, and only an admin user's token
may be an admin token. The token is in the answer to its creation and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.access import AccessDenied, Role
from roost.domain.clock import utcnow
from roost.domain.errors import InvalidInput, NotFound
from roost.domain.ids import validate_app_name, validate_instance_id
from roost.domain.names import TOKEN_ID, TOKEN_NAME
from roost.registry import users as store
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.users import BOOTSTRAP_USER, check_user_name, user_not_found
from roost.tokens import new_token

MAX_EXPIRES_IN_S = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    user: str
    role: str
    name: str | None
    instances: tuple[str, ...] | None
    apps: tuple[str, ...] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _info(row: store.TokenRow) -> TokenInfo:
    return TokenInfo(
        row.token_id,
        row.user,
        row.role.label,
        row.name,
        row.instances,
        row.apps,
        row.created_at,
        row.expires_at,
        row.revoked_at,
    )


async def create_token(
    ctx: Context,
    actor: Actor,
    *,
    role: str,
    user: str | None = None,
    instances: list[str] | None = None,
    apps: list[str] | None = None,
    expires_in: int | None = None,
    name: str | None = None,
) -> tuple[TokenInfo, str]:
    """A new token and its text (shown this once)."""
    owner = user or actor.user or BOOTSTRAP_USER
    check_user_name(owner)
    try:
        granted = Role.named(role)
    except ValueError:
        raise InvalidInput(
            f"unknown role {role!r}: admin, owner, operator or viewer", code="INVALID_ROLE"
        ) from None
    if granted is Role.CACHE:
        raise InvalidInput("cache tokens are made by roost for instances", code="INVALID_ROLE")
    await ctx.policy.authorize(actor, "token.own" if owner == actor.user else "token.any")
    if granted is Role.ADMIN and not actor.admin:
        raise AccessDenied("only an admin may make an admin token", action="token.create")
    for instance_id in instances or ():
        validate_instance_id(instance_id)
    for app in apps or ():
        validate_app_name(app)
    if name is not None and not TOKEN_NAME.matches(name):
        raise InvalidInput("a token name is 1-200 printable characters", code="INVALID_NAME")
    if expires_in is not None and not 1 <= expires_in <= MAX_EXPIRES_IN_S:
        raise InvalidInput(
            f"expires_in is seconds, from 1 to {MAX_EXPIRES_IN_S}", code="INVALID_EXPIRY"
        )
    text, token_id, secret_hash = new_token()
    now = utcnow()
    expires_at = None if expires_in is None else now + timedelta(seconds=expires_in)

    def apply(conn: Connection, record: Recorder) -> store.TokenRow:
        row = store.get_user(conn, owner)
        if row is None and owner == BOOTSTRAP_USER and actor.admin:
            pk = store.insert_user(conn, owner, admin=True, at=now)  # the host's own admin
            admin = True
        elif row is None:
            raise user_not_found(owner)
        else:
            pk, admin = row.pk, row.admin
        if granted is Role.ADMIN and not admin:
            raise InvalidInput(f"{owner!r} is not an admin user", code="INVALID_ROLE")
        store.insert_token(
            conn,
            token_id=token_id,
            user_pk=pk,
            name=name,
            role=granted,
            instances=instances,
            apps=apps,
            secret_hash=secret_hash,
            at=now,
            expires_at=expires_at,
        )
        record("token.create", details={"token": token_id, "user": owner, "role": role})
        made = store.get_token(conn, token_id)
        assert made is not None
        return made

    return _info(await commit(ctx, actor, apply)), text


async def list_tokens(ctx: Context, actor: Actor) -> list[TokenInfo]:
    """Every token (an admin), or the caller's own; never their secrets."""
    await ctx.policy.authorize(actor, "token.own")
    rows = await ctx.registry.read(store.list_tokens, None if actor.admin else actor.user or "")
    return [_info(row) for row in rows]


async def revoke_token(ctx: Context, actor: Actor, token_id: str) -> None:
    if not TOKEN_ID.matches(token_id):
        raise InvalidInput(f"invalid token id {token_id!r}", code="INVALID_TOKEN_ID")
    row = await ctx.registry.read(store.get_token, token_id)
    if row is None:
        raise NotFound(f"token {token_id!r} not found", code="TOKEN_NOT_FOUND")
    await ctx.policy.authorize(actor, "token.own" if row.user == actor.user else "token.any")

    def apply(conn: Connection, record: Recorder) -> None:
        store.revoke_token(conn, token_id, utcnow())
        record("token.revoke", details={"token": token_id, "user": row.user})

    await commit(ctx, actor, apply)
    ctx.authenticator.forget_tokens()
