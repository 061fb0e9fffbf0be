"""Real ``roost serve`` processes for tests that need a server of their own."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from roost.api.app import create_app
from roost.cli.server import is_healthy, wait_until_healthy
from roost.settings import Settings


def listener(*, delay: float = 0.0, say: str = "") -> str:
    """A Python program for a service: it prints ``say`` (then its port), waits ``delay``
    seconds, then listens on ``$PORT`` and accepts forever."""
    return (
        "import os, socket, time\n"
        + (f"print({say!r}, os.environ['PORT'], flush=True)\n" if say else "")
        + f"time.sleep({delay})\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', int(os.environ['PORT'])))\n"
        "s.listen()\n"
        "while True:\n"
        "    s.accept()[0].close()\n"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_base(span: int = 400) -> int:
    """A base for fixed and offset ports: ``span`` ports from it are free now, and they lie
    below the ephemeral range (and the workers' auto ranges), where no outgoing
    connection of another process can take one of them later."""
    rng = random.Random()
    while True:
        base = rng.randrange(10_000, 19_000, 10)
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + span, 5):
                    probe = held.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base


@contextmanager
def server(home: Path, port: int, *flags: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environment = {**os.environ, "ROOST_HOME": str(home), **env}
    environment.pop("ROOST_DATABASE_URL", None)
    environment.pop("ROOST_CACHE_BACKEND", None)
    home.parent.mkdir(parents=True, exist_ok=True)
    log = open(home.parent / f"serve-{port}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "roost", "serve", "--port", str(port), *flags],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until_healthy(f"http://127.0.0.1:{port}", process, Path(log.name))
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
        log.close()


@contextmanager
def in_thread(settings: Settings, **options: Any) -> Iterator[uvicorn.Server]:
    """roost's app for ``settings`` served by uvicorn in a thread of this process (so a
    test can reach into it), answering before this yields; stopped after."""
    host, port = settings.url.removeprefix("http://").rsplit(":", 1)
    config = uvicorn.Config(
        create_app(settings=settings), host=host, port=int(port), log_level="warning", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not is_healthy(settings.url):
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield server
    server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive(), "the server did not stop (services may be left running)"


@contextmanager
def s3_server() -> Iterator[str]:
    """A real S3-compatible server (moto's server mode) on a free port: its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the S3 server (moto) did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """``folder`` (made here) as a tmpfs mounted with ``options`` (``size=16m``...):
    a file system of its own, or a small disk to fill. Skips the test where a tmpfs
    cannot be mounted; unmounted lazily after (a server started there may still hold
    a working directory in it)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
