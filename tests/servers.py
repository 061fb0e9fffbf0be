"""Real ``roost serve`` processes for tests that need a server of their own."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from roost.cli.server import wait_until_healthy


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
