"""A real ``roost serve`` (uvicorn in a thread, SQLite home) for the CLI to talk to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from roost.api.app import create_app
from roost.cli.server import is_healthy
from roost.settings import Settings, sqlite_url
from tests.servers import free_port


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "home"
    port = free_port()
    settings = Settings(
        home=home,
        database_url=sqlite_url(home / "roost.db"),
        url=f"http://127.0.0.1:{port}",
        stop_on_exit=True,
    )
    config = uvicorn.Config(
        create_app(settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,  # a stream still open (logs -f) does not keep it up
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not is_healthy(settings.url):
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield settings
    server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive(), "the server did not stop (services may be left running)"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
