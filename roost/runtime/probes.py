"""Running a health probe: a TCP connect, an HTTP GET or a command, each within its
timeout, as a :class:`ProbeResult` that says how long it took and why it failed.

The TCP probe is a bare non-blocking connect and the HTTP probe one request written on a
raw connection (``Connection: close``, the status line read and nothing more): a sweep of
a thousand probes must cost little more than the connects themselves, and a general
HTTP client costs several times that per request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from roost.domain.health import ProbeResult
from roost.hooks import run_hook
from roost.runtime.plan import Probe

OUTPUT_KEPT = 300  # bytes of a failed command's output kept in its error
USER_AGENT = "roost-health"


async def run_probe(probe: Probe, cwd: Path, env: Mapping[str, str]) -> ProbeResult:
    started = time.perf_counter()
    if probe.kind == "tcp":
        assert probe.port is not None
        error = await connect_error(probe.port, probe.timeout, probe.host)
    elif probe.kind == "http":
        assert probe.url is not None
        error = await _get(probe.url, probe.timeout)
    else:
        try:
            error = await _command(probe.command, probe.timeout, cwd, env)
        except CannotRun as exc:  # it cannot run at all: an error, not a failure
            return ProbeResult(False, _since(started), str(exc), ran=False)
    return ProbeResult(error is None, _since(started), error)


def _where(host: str, port: int) -> str:
    return f"port {port}" if host == "127.0.0.1" else f"{host}:{port}"


def _reason(exc: OSError) -> str:
    """The system's words for ``exc`` (``Connection refused``), not Python's wrapping."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def connect_error(port: int, within: float, host: str = "127.0.0.1") -> str | None:
    """None when ``host:port`` accepts a connection within ``within`` seconds."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name (a validate probe's external endpoint): resolved first
        family = None
    try:
        async with asyncio.timeout(within):
            if family is None:
                _, writer = await asyncio.open_connection(host, port)
                writer.close()
                return None
            loop = asyncio.get_running_loop()
            with socket.socket(family) as probe:
                probe.setblocking(False)
                await loop.sock_connect(probe, (host, port))
    except TimeoutError:
        return f"no connection to {_where(host, port)} within {within:g}s"
    except OSError as exc:
        return f"cannot connect to {_where(host, port)}: {_reason(exc)}"
    return None


async def _get(url: str, within: float) -> str | None:
    """None when ``url`` answers 2xx or 3xx within ``within`` seconds, else why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"cannot probe {url!r}: not an http(s) URL"
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    writer = None
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(
                parts.hostname, port, ssl=ssl.create_default_context() if secure else None
            )
            writer.write(request)
            status_line = await reader.readline()
    except TimeoutError:
        return f"no answer from {url} within {within:g}s"
    except (OSError, ssl.SSLError) as exc:
        return f"cannot reach {url}: {_reason(exc)}"
    finally:
        if writer is not None:
            writer.close()
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        return f"{url} did not answer HTTP"
    status = int(fields[1])
    return None if 200 <= status < 400 else f"{url} answered {status}"


async def _command(
    argv: tuple[str, ...], within: float, cwd: Path, env: Mapping[str, str]
) -> str | None:
    done = await run_hook(list(argv), cwd=cwd, env=env, time_limit_s=within)
    if not done.started:
        raise CannotRun(done.tail)
    if done.timed_out:
        return f"{argv[0]!r} did not finish within {within:g}s"
    if done.ok:
        return None
    said = done.tail[-OUTPUT_KEPT:].strip()
    return f"{argv[0]!r} exited {done.code}" + (f": {said}" if said else "")


class CannotRun(Exception):
    """A command that could not be started: an error of the probe, not of the service."""
