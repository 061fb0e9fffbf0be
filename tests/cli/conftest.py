"""A real ``roost serve`` (uvicorn in a thread, SQLite home) for the CLI to talk to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roost.settings import Settings, sqlite_url
from tests.servers import free_port, in_thread


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
    # a stream still open (logs -f) does not keep it up
    with in_thread(settings, timeout_graceful_shutdown=2):
        yield settings


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
