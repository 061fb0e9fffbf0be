"""Serve only requests addressed to this server by a name it answers to.

A page on another site can make a browser resolve its own host name to 127.0.0.1 (DNS
rebinding) and then talk to roost as if it were that site; its requests still carry
that site's name in ``Host``. Without credentials to check (auth off), only
``localhost``, loopback addresses, the address roost is bound to and
``ROOST_ALLOWED_HOSTS`` are served: anything else is 421 ``MISDIRECTED_REQUEST``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from roost.api.middleware.refusal import ASGIApp, Receive, Scope, Send, header, refuse


def host_name(value: str) -> str:
    """``Host`` without its port, lowercased (``[::1]:8080`` is ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() else value


def is_loopback(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostCheck:
    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(name.lower() for name in allowed)

    def accepts(self, name: str) -> bool:
        return is_loopback(name) or name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client") is not None:  # TCP, not the socket
            name = host_name(header(scope, b"host") or "")
            if not self.accepts(name):
                await refuse(
                    send,
                    421,
                    "MISDIRECTED_REQUEST",
                    f"this server does not answer to {name!r}: use localhost, a loopback"
                    " address, or a name in ROOST_ALLOWED_HOSTS",
                )
                return
        await self.app(scope, receive, send)
