"""``roost metrics``, ``roost usage`` and ``roost top`` against a real server that
samples every second, and a real process."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from roost.settings import Settings, sqlite_url
from tests.cli.test_commands import ok, roost
from tests.servers import free_port, in_thread, listener


@pytest.fixture
def sampled_server(tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "home"
    settings = Settings(
        home=home,
        database_url=sqlite_url(home / "roost.db"),
        url=f"http://127.0.0.1:{free_port()}",
        stop_on_exit=True,
    )
    with in_thread(replace(settings, metrics_interval_s=1.0), timeout_graceful_shutdown=2):
        yield settings


def test_metrics_usage_and_top(runner: CliRunner, sampled_server: Settings) -> None:
    spec = {
        "name": "site",
        "version": "1",
        "ports": {"http": "auto"},
        "services": {"web": {"command": [sys.executable, "-c", listener()], "ports": ["http"]}},
    }
    with httpx.Client(base_url=sampled_server.url) as http:
        assert http.post("/v1/apps", json=spec).status_code == 201
        assert (
            http.post("/v1/instances", json={"app": "site", "instance_id": "s1"}).status_code == 201
        )
    ok(runner, sampled_server, "up", "s1")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # two samples: CPU needs two readings
        found = json.loads(ok(runner, sampled_server, "metrics", "s1", "--json"))
        if len(found.get("cpu_percent", [])) >= 2:
            break
        time.sleep(0.3)
    assert len(found["cpu_percent"]) >= 2, found
    shown = ok(runner, sampled_server, "metrics", "s1", "--since", "10m")
    assert "memory_bytes" in shown and "LAST 10m" in shown
    assert any(ch in shown for ch in "▁▂▃▄▅▆▇█")  # sparklines
    one = ok(runner, sampled_server, "metrics", "s1", "--name", "processes")
    assert "processes" in one and "memory_bytes" not in one
    bad = roost(runner, sampled_server, "metrics", "s1", "--name", "cpu")
    assert bad.exit_code == 1 and bad.stderr.strip().endswith("(UNKNOWN_METRIC)")

    usage = ok(runner, sampled_server, "usage", "--since", "1h")
    assert "s1" in usage and "UPTIME" in usage
    report = json.loads(ok(runner, sampled_server, "usage", "--json"))
    assert report["instances"][0]["uptime_percent"] > 0

    table = ok(runner, sampled_server, "top", "--once", "--sort", "memory")
    assert "s1" in table and ("● unknown" in table or "● healthy" in table)
    rows = json.loads(ok(runner, sampled_server, "top", "--json", "--interval", "0.5"))
    assert rows[0]["instance_id"] == "s1" and rows[0]["memory_bytes"] > 1_000_000
    wrong = roost(runner, sampled_server, "top", "--once", "--sort", "colour")
    assert wrong.exit_code == 1 and wrong.stderr.strip().endswith("(INVALID_SORT)")
