"""Every request but ``GET /health`` gets its actor here, once, from the context's
authenticator (``auth.py``); routes and the data plane read it from the scope. A
request that cannot be told is refused before any route sees it: 401 ``UNAUTHORIZED``
(with ``WWW-Authenticate: Bearer``), or 429 with ``Retry-After`` for a client that
failed too often."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from roost.api.middleware.refusal import ASGIApp, Receive, Scope, Send, refuse
from roost.auth import ACTOR_KEY
from roost.domain.errors import RoostError
from roost.services.context import Context

OPEN = ("/health",)  # answered to anyone: it says only whether the server is up
# the dashboard's sign-in and its static files need no one signed in
SIGN_IN = ("/login", "/logout")
STATIC = "/static/"
NOT_PAGES = ("/v1/", "/api/", "/metrics", "/openapi.json", "/docs", "/health")


def is_page(path: str) -> bool:
    """A dashboard page (anything the REST API, the data plane and the docs are not)."""
    return not path.startswith(NOT_PAGES)


class Authentication:
    def __init__(self, app: ASGIApp, context: Callable[[], Context]) -> None:
        self.app = app
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not self._open(scope["method"], path):
            try:
                scope[ACTOR_KEY] = await self._context().authenticator.authenticate(scope)
            except RoostError as exc:
                if exc.status == 401 and scope["method"] == "GET" and is_page(path):
                    await _to_sign_in(send, path)
                    return
                headers: list[tuple[bytes, bytes]] = []
                if exc.status == 401:
                    headers.append((b"www-authenticate", b'Bearer realm="roost"'))
                if "retry_after" in exc.extra:
                    headers.append((b"retry-after", str(exc.extra["retry_after"]).encode()))
                headers.extend((k.lower().encode(), v.encode()) for k, v in exc.headers.items())
                await refuse(send, exc.status, exc.code, exc.message, headers, **exc.extra)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _open(method: str, path: str) -> bool:
        if method == "GET" and (path in OPEN or path.startswith(STATIC)):
            return True
        return path in SIGN_IN


async def _to_sign_in(send: Send, path: str) -> None:
    """A page asked without credentials: to the sign-in form, and back after it."""
    location = "/login?next=" + quote(path, safe="/")
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
