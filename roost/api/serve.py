"""``roost serve`` in the foreground: take the home's lock, open the registry, run uvicorn.

The context is opened before uvicorn starts, so a bad database URL or an unreachable
PostgreSQL is one clear error line instead of a failed lifespan.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import signal
import socket
from dataclasses import replace

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from roost import unix
from roost.api.app import create_app
from roost.api.protocol import with_timeout
from roost.auth import LOCAL_ACTOR
from roost.composition import open_context
from roost.domain.errors import Conflict, RoostError
from roost.domain.network import is_loopback
from roost.home import Home
from roost.services.backup_recovery import settle_interrupted
from roost.services.boot import boot
from roost.services.users import bootstrap_admin
from roost.settings import Settings

SHUTDOWN_GRACE_S = 5


# Python's defaults (700, 10, 10) run a young collection every 700 allocations and a
# full one often enough that, with a thousand instances' plans, health and samples in
# memory, a full collection stalled a sweep of health checks for ~100 ms
GC_THRESHOLDS = (50_000, 20, 20)


def _check_bindable(host: str, port: int) -> None:
    """Refuse early, with a clear error, when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = f"address {host}:{port} is already in use"
                raise Conflict(message, code="PORT_CONFLICT") from None
            message = f"cannot bind {host}:{port}: {exc.strerror}"
            raise Conflict(message, code="BIND_FAILED") from None


def auth_required(mode: str, host: str) -> bool:
    """``on``, ``off``, or ``auto``: on unless every address roost binds is a loopback one."""
    if mode == "auto":
        return not is_loopback(host)
    return mode == "on"


def _tcp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    return listener


async def _serve(settings: Settings, host: str, port: int) -> None:
    try:
        context = await open_context(settings)
    except (OSError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        message = f"cannot open the registry {where}: {reason}"
        raise RoostError(message, code="REGISTRY_UNAVAILABLE") from exc
    home = Home(settings.home)
    listeners = [_tcp_socket(host, port), unix.listen(home.server_socket)]
    try:
        if settings.auth_required:
            shown = await bootstrap_admin(context, LOCAL_ACTOR, settings.bootstrap_token)
            if shown is not None:
                print(f"roost: auth is on. The first admin token, shown once: {shown}", flush=True)
        await settle_interrupted(context)
        await boot(context)
        gc.freeze()  # what boot made lives as long as the server: never scanned again
        config = uvicorn.Config(
            create_app(context=context),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            http=with_timeout(settings.client_timeout_s),
            # open streams (logs -f) never end by themselves: do not wait for them forever
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        # uvicorn handles SIGINT/SIGTERM, then raises the signal again once it has shut
        # down, with the handler it found: with the default one the process would die
        # there, before the context closes (no --stop-on-exit, no last activity flush)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _already_handled)
        await uvicorn.Server(config).serve(sockets=listeners)
    finally:
        for listener in listeners:
            listener.close()
        home.server_socket.unlink(missing_ok=True)
        await context.close()


def _already_handled(signum: int, frame: object) -> None:
    """uvicorn has shut down for this signal; closing goes on in ``_serve``."""


def log_to_stderr() -> None:
    """roost's own log lines (INFO and up) on stderr, with time, level and source; the
    server's stderr is its log (``logs/serve.log`` when the CLI started it)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    roost_log = logging.getLogger("roost")
    roost_log.addHandler(handler)
    roost_log.setLevel(logging.INFO)
    roost_log.propagate = False


def run_server(settings: Settings, *, host: str, port: int, insecure: bool = False) -> None:
    required = auth_required(settings.auth, host)
    if not required and not is_loopback(host) and not insecure:
        raise RoostError(
            f"refusing to serve {host} without auth: whoever reaches it could run commands on"
            " this host. Use --auth on (tokens), or --insecure if the network is yours alone",
            code="INSECURE_BIND",
        )
    # instances are told where the data plane is (ROOST_CACHE_URL): here
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    settings = replace(settings, url=url, auth_required=required)
    log_to_stderr()
    gc.set_threshold(*GC_THRESHOLDS)
    home = Home(settings.home)
    home.acquire_server_lock(f"http://{host}:{port}")
    try:
        _check_bindable(host, port)
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvicorn[standard] brings it
            asyncio.run(_serve(settings, host, port))
        else:
            uvloop.run(_serve(settings, host, port))
    finally:
        home.release_server_lock()
