"""Who is calling: the home's owner over the unix socket, anyone on a server without
auth, and otherwise whoever a bearer token says (``roost/tokens.py``).

A token is checked against the registry once, then kept in memory until it expires or
any token is revoked. A client that fails too often is made to wait: after
:data:`FAILURES_ALLOWED` failures in a minute, 429 with ``Retry-After``. Every failure
is an event (outcome ``denied``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from roost.auth import LOCAL_ACTOR, PEER_UID_KEY, Actor, Scope
from roost.domain.access import Role
from roost.domain.clock import utcnow
from roost.domain.errors import RoostError
from roost.failures import log_failure
from roost.registry import users as user_store
from roost.registry.database import Registry
from roost.registry.events import record_event
from roost.secrets import SecretBox
from roost.tokens import cache_token_instance, identify, matches

log = logging.getLogger("roost.authentication")
FAILURES_ALLOWED = 20
FAILURE_WINDOW_S = 60.0
MAX_REMEMBERED = 10_000


class Unauthorized(RoostError):
    status = 401
    code = "UNAUTHORIZED"


class TooManyFailures(RoostError):
    status = 429
    code = "TOO_MANY_FAILURES"


class TokenAuthenticator:
    def __init__(
        self,
        registry: Registry,
        box: SecretBox,
        *,
        required: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._box = box
        self.required = required
        self._clock = clock
        self._known: dict[bytes, tuple[Actor, datetime | None]] = {}  # by Authorization
        self._failures: dict[str, deque[float]] = {}

    async def authenticate(self, scope: Scope) -> Actor:
        if scope.get(PEER_UID_KEY) is not None or not self.required:
            return LOCAL_ACTOR  # the home's owner over its socket, or a server without auth
        address = (scope.get("client") or ("unknown",))[0]
        if self._failures:  # someone failed lately: not one more try from there
            self._refuse_if_failing(address)
        header = _authorization(scope) or self._from_session(scope)
        known = self._known.get(header) if header is not None else None
        if known is not None and (known[1] is None or known[1] > utcnow()):
            return known[0]  # this very header was checked already
        text = _bearer(header)
        if header is None or text is None:
            raise await self._failed(
                address, "authentication required: send Authorization: Bearer <token>"
            )
        actor, expires_at = await self._check(text, address)
        if len(self._known) >= MAX_REMEMBERED:
            self._known.clear()
        self._known[header] = (actor, expires_at)
        return actor

    async def sign_in(self, token: str, address: str) -> tuple[Actor, str]:
        """Who ``token`` is (a wrong one counts as a failure of ``address``), and the
        session cookie's value: the token sealed with the home's key, so the cookie is
        not the token itself."""
        if self._failures:
            self._refuse_if_failing(address)
        actor, _ = await self._check(token.strip(), address)
        return actor, self._box.encrypt(token.strip().encode())

    def _from_session(self, scope: Scope) -> bytes | None:
        """``Bearer <token>`` from the dashboard's session cookie (not on the data plane,
        which instances' programs use with their own tokens)."""
        if str(scope.get("path", "")).startswith(DATA_PLANE):
            return None
        sealed = session_of(scope)
        if sealed is None:
            return None
        try:
            return b"Bearer " + self._box.decrypt(sealed)
        except RoostError:  # sealed with a key this home no longer has: signed out
            return None

    def forget_tokens(self) -> None:
        self._known.clear()

    async def _check(self, text: str, address: str) -> tuple[Actor, datetime | None]:
        instance = cache_token_instance(self._box.keys, text)
        if instance is not None:
            name = f"cache:{instance}"
            return Actor(name, role=Role.CACHE, instances=frozenset({instance})), None
        token_id, secret = identify(text)
        row = await self._registry.read(user_store.get_token, token_id)
        if row is None or not matches(secret, row.secret_hash):
            raise await self._failed(address, "the token is not valid")
        if row.revoked_at is not None:
            raise await self._failed(address, "the token was revoked", row.token_id)
        if row.expires_at is not None and row.expires_at <= utcnow():
            raise await self._failed(address, "the token has expired", row.token_id)
        actor = Actor(
            row.user,
            admin=row.role is Role.ADMIN and row.user_admin,
            user=row.user,
            role=row.role,
            token=row.token_id,
            instances=None if row.instances is None else frozenset(row.instances),
            apps=None if row.apps is None else frozenset(row.apps),
        )
        return actor, row.expires_at

    def _refuse_if_failing(self, address: str) -> None:
        recent = self._failures.get(address)
        if recent is None:
            return
        now = self._clock()
        while recent and recent[0] <= now - FAILURE_WINDOW_S:
            recent.popleft()
        if len(recent) >= FAILURES_ALLOWED:
            wait = max(1, int(recent[0] + FAILURE_WINDOW_S - now) + 1)
            raise TooManyFailures(
                f"{len(recent)} failed authentications from {address} in a minute: wait {wait} s",
                retry_after=wait,
            )
        if not recent:
            del self._failures[address]

    async def _failed(self, address: str, reason: str, token: str | None = None) -> Unauthorized:
        if len(self._failures) >= MAX_REMEMBERED and address not in self._failures:
            self._failures.clear()
        self._failures.setdefault(address, deque()).append(self._clock())
        try:
            await self._registry.write(
                record_event,
                actor="anonymous",
                token=token,
                action="auth.failed",
                outcome="denied",
                details={"reason": reason, "address": address},
            )
        except Exception as error:
            log_failure(log, error, "could not record a failed authentication from %s", address)
        return Unauthorized(reason)


SESSION_COOKIE = "roost_session"
DATA_PLANE = "/v1/cache"


def session_of(scope: Scope) -> str | None:
    """The session cookie's value, if the request carries one."""
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in bytes(value).decode("latin-1").split(";"):
                key, _, found = part.strip().partition("=")
                if key == SESSION_COOKIE and found:
                    return str(found)
    return None


def _authorization(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return None


def _bearer(header: bytes | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``."""
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
