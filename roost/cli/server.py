"""Running ``roost serve`` in the foreground, in the background, and on demand.

The CLI starts a background server when none answers (like PM2's daemon). An
``autostart.lock`` in the home makes concurrent CLI calls wait for one another, and the
server's own lock on the home refuses a second server, so two never start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from roost.cli.http import HttpSession, TransportError
from roost.domain.errors import RoostError
from roost.domain.network import is_loopback
from roost.home import Home
from roost.settings import Settings

START_TIMEOUT_S = 30.0


class ServerUnavailable(RoostError):
    status = 503
    code = "SERVER_UNAVAILABLE"


def is_healthy(url: str, timeout: float = 1.0, *, unix_socket: Path | None = None) -> bool:
    session = HttpSession(url, timeout=timeout, unix_socket=unix_socket)
    try:
        response = session.request("GET", "/health")
        body = response.json()
    except (TransportError, ValueError):
        return False
    finally:
        session.close()
    return (
        response.status_code == 200 and isinstance(body, dict) and body.get("status") == "healthy"
    )


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerUnavailable(f"invalid server URL {url!r}", code="INVALID_URL")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


@contextlib.contextmanager
def _autostart_lock(home: Home) -> Iterator[None]:
    home.ensure()
    with open(home.path / "autostart.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def spawn_server(
    settings: Settings, host: str, port: int, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start ``roost serve`` detached from this process, logging to ``logs/serve.log``."""
    home = Home(settings.home)
    home.ensure()
    log = open(home.server_log_file, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "roost",
                "--home",
                str(settings.home),
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "ROOST_DATABASE_URL": settings.database_url},
        )
    finally:
        log.close()


def wait_until_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    log_file: Path,
    *,
    unix_socket: Path | None = None,
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if is_healthy(url, timeout=0.5, unix_socket=unix_socket):
            return
        if process.poll() is not None:
            raise ServerUnavailable(
                f"roost server exited with code {process.returncode}: {_last_line(log_file)}"
            )
        time.sleep(0.05)
    raise ServerUnavailable(f"roost server did not answer at {url} within {START_TIMEOUT_S:.0f} s")


def _last_line(log_file: Path) -> str:
    try:
        lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return f"see {log_file}"
    return lines[-1].strip() if lines else f"see {log_file}"


def local_socket(settings: Settings) -> Path | None:
    """The home's socket, which the CLI talks over unless a URL was given."""
    return None if settings.url_explicit else Home(settings.home).server_socket


def ensure_server(settings: Settings) -> int | None:
    """Make sure a server answers (over the home's socket, or at ``settings.url`` when
    one was given); the pid when this call started it."""
    socket_path = local_socket(settings)
    if is_healthy(settings.url, unix_socket=socket_path):
        return None
    host, port = host_and_port(settings.url)
    if not is_loopback(host):
        raise ServerUnavailable(f"no roost server answers at {settings.url}")
    home = Home(settings.home)
    with _autostart_lock(home):
        if is_healthy(settings.url, unix_socket=socket_path):
            return None
        process = spawn_server(settings, host, port)
        wait_until_healthy(settings.url, process, home.server_log_file, unix_socket=socket_path)
        return process.pid


def stop_server(home: Home, timeout: float = 15.0) -> int | None:
    """SIGTERM the server holding the home's lock and wait for it; its pid, or None."""
    pid = home.server_pid()
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while home.server_pid() is not None:
        if time.monotonic() > deadline:
            raise ServerUnavailable(f"roost server (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.05)
    return pid
