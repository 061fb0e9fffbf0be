"""The checks every request passes first, in one look at its headers (this is the data
plane's hot path too): the ``Host`` it names (``hosts.py``), then where a browser says
it comes from (``origins.py``)."""

from __future__ import annotations

from roost.api.middleware.hosts import AllowedHosts
from roost.api.middleware.origins import Origins
from roost.api.middleware.refusal import ASGIApp, Receive, Scope, Send, refuse
from roost.auth import PEER_UID_KEY


class RequestGuard:
    def __init__(self, app: ASGIApp, *, hosts: AllowedHosts | None, origins: Origins) -> None:
        self.app = app
        self.hosts = hosts  # None: every name is served (tokens are checked instead)
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = origin = site = None
            for name, value in scope["headers"]:
                if name == b"host":
                    host = value
                elif name == b"origin":
                    origin = value
                elif name == b"sec-fetch-site":
                    site = value
            over_tcp = PEER_UID_KEY not in scope  # the socket's peer was checked already
            if self.hosts is not None and over_tcp and not self.hosts(host):
                shown = (host or b"").decode("latin-1")
                await refuse(
                    send,
                    421,
                    "MISDIRECTED_REQUEST",
                    f"this server does not answer to {shown!r}: use localhost, a loopback"
                    " address, or a name in ROOST_ALLOWED_HOSTS",
                )
                return
            raw: bytes = scope.get("raw_path") or scope["path"].encode()
            if not self.origins.allows(scope["method"], raw, origin, site, host):
                await refuse(
                    send,
                    403,
                    "CROSS_ORIGIN",
                    "a cross-origin request from a browser may not act here"
                    " (trust its origin with ROOST_TRUSTED_ORIGINS)",
                )
                return
        await self.app(scope, receive, send)
