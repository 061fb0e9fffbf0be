"""Every request but ``GET /health`` gets its actor here, once, from the context's
authenticator (``auth.py``); routes and the data plane read it from the scope. A
request that cannot be told is refused before any route sees it: 401 ``UNAUTHORIZED``
(with ``WWW-Authenticate: Bearer``), or 429 with ``Retry-After`` for a client that
failed too often."""

from __future__ import annotations

from collections.abc import Callable

from roost.api.middleware.refusal import ASGIApp, Receive, Scope, Send, refuse
from roost.auth import ACTOR_KEY
from roost.domain.errors import RoostError
from roost.services.context import Context

OPEN = ("/health",)  # answered to anyone: it says only whether the server is up


class Authentication:
    def __init__(self, app: ASGIApp, context: Callable[[], Context]) -> None:
        self.app = app
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (scope["method"] == "GET" and scope["path"] in OPEN):
            try:
                scope[ACTOR_KEY] = await self._context().authenticator.authenticate(scope)
            except RoostError as exc:
                headers: list[tuple[bytes, bytes]] = []
                if exc.status == 401:
                    headers.append((b"www-authenticate", b'Bearer realm="roost"'))
                if "retry_after" in exc.extra:
                    headers.append((b"retry-after", str(exc.extra["retry_after"]).encode()))
                headers.extend((k.lower().encode(), v.encode()) for k, v in exc.headers.items())
                await refuse(send, exc.status, exc.code, exc.message, headers, **exc.extra)
                return
        await self.app(scope, receive, send)
