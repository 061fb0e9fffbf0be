"""``roost serve`` in the foreground: take the home's lock, then run uvicorn."""

from __future__ import annotations

import errno
import socket

import uvicorn

from roost.api.app import create_app
from roost.domain.errors import Conflict
from roost.home import Home
from roost.settings import Settings


def _check_bindable(host: str, port: int) -> None:
    """Refuse early, with a clear error, when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Conflict(
                    f"address {host}:{port} is already in use", code="PORT_CONFLICT"
                ) from None
            raise Conflict(
                f"cannot bind {host}:{port}: {exc.strerror}", code="BIND_FAILED"
            ) from None


def run_server(settings: Settings, *, host: str, port: int) -> None:
    home = Home(settings.home)
    home.acquire_server_lock(f"http://{host}:{port}")
    try:
        _check_bindable(host, port)
        config = uvicorn.Config(
            create_app(settings=settings),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            lifespan="on",
        )
        uvicorn.Server(config).run()
    finally:
        home.release_server_lock()
