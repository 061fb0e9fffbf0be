"""No cross-origin browser request acts, with or without auth (Go 1.25's
``CrossOriginProtection``, for every route).

A browser says where a request comes from: ``Sec-Fetch-Site`` (modern browsers) or
``Origin``. A request that changes something (anything but GET, HEAD, OPTIONS) from
another site is 403 ``CROSS_ORIGIN``, unless its origin is in
``ROOST_TRUSTED_ORIGINS``. On the data plane GET and HEAD count too: a first GET can
create an instance. Requests with neither header (curl, SDKs, services) pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from roost.api.middleware.refusal import ASGIApp, Receive, Scope, Send, header, refuse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_SITES = frozenset({"same-origin", "none"})  # "none": typed in the address bar


class CrossOriginCheck:
    def __init__(
        self, app: ASGIApp, *, trusted: Iterable[str], guard_reads: tuple[bytes, ...] = ()
    ) -> None:
        self.app = app
        self.trusted = frozenset(origin.lower().rstrip("/") for origin in trusted)
        self.guard_reads = guard_reads  # raw path prefixes where GET/HEAD count too

    def may_act(self, scope: Scope) -> bool:
        """Anything but a read may change something; a read too where ``guard_reads`` says."""
        if scope["method"] not in SAFE_METHODS:
            return True
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        return any(raw.startswith(prefix) for prefix in self.guard_reads)

    def allows(self, scope: Scope) -> bool:
        if not self.may_act(scope):
            return True
        origin = (header(scope, b"origin") or "").lower().rstrip("/")
        if origin and origin in self.trusted:
            return True
        site = header(scope, b"sec-fetch-site")
        if site is not None:
            return site.lower() in ALLOWED_SITES
        if not origin:
            return True  # not a browser
        host = (header(scope, b"host") or "").lower()
        return origin.partition("://")[2] == host  # the same scheme-less origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allows(scope):
            await refuse(
                send,
                403,
                "CROSS_ORIGIN",
                "a cross-origin request from a browser may not act here"
                " (trust its origin with ROOST_TRUSTED_ORIGINS)",
            )
            return
        await self.app(scope, receive, send)
