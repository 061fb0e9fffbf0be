"""``roost health`` and ``roost list --health`` against a real server and real processes."""

from __future__ import annotations

import json
import sys

import httpx
from typer.testing import CliRunner

from roost.settings import Settings
from tests.cli.test_commands import ok, roost
from tests.servers import listener

SITE = {
    "name": "hc",
    "version": "1",
    "ports": {"http": "auto"},
    "services": {"site": {"command": [sys.executable, "-c", listener()], "ports": ["http"]}},
}


def test_health_checks_now_and_exits_1_when_any_is_not_healthy(
    runner: CliRunner, live_server: Settings
) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        assert http.post("/v1/apps", json=SITE).status_code == 201
        for instance_id in ("1", "2"):
            created = http.post("/v1/instances", json={"app": "hc", "instance_id": instance_id})
            assert created.status_code == 201
    ok(runner, live_server, "up", "1")

    one = ok(runner, live_server, "health", "1")
    assert "● healthy" in one and "site" in one and " ms" in one
    listed = json.loads(ok(runner, live_server, "list", "--health", "healthy", "--json"))
    assert [i["instance_id"] for i in listed] == ["1"]

    both = roost(runner, live_server, "health", "--json")  # all, and 2 was never started
    assert both.exit_code == 1
    results = json.loads(both.stdout)
    assert {i: r["health"] for i, r in results.items()} == {"1": "healthy", "2": "unknown"}
    assert both.stderr.strip() == "error: 1 of 2 not healthy: 2 (UNHEALTHY)"
    missing = roost(runner, live_server, "health", "nobody")
    assert missing.exit_code == 1 and missing.stderr.strip().endswith("(INSTANCE_NOT_FOUND)")


def test_create_validate_refuses_in_one_line(runner: CliRunner, live_server: Settings) -> None:
    spec = {"name": "val", "version": "1", "validate": {"cmd": ["sh", "-c", "echo no; exit 3"]}}
    with httpx.Client(base_url=live_server.url) as http:
        assert http.post("/v1/apps", json=spec).status_code == 201
    refused = roost(runner, live_server, "create", "v", "--app", "val", "--validate")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "error: validation failed: 'sh' exited 3: no (VALIDATION_FAILED)"
    )
    assert ok(runner, live_server, "create", "v", "--app", "val").startswith("created v")


def test_restart_rolling_goes_one_at_a_time(runner: CliRunner, live_server: Settings) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        assert http.post("/v1/apps", json=SITE, params={"default": "true"}).status_code == 201
    ok(runner, live_server, "up", "1")
    ok(runner, live_server, "up", "2")
    rolled = ok(runner, live_server, "restart", "all", "--rolling", "--max-unavailable", "1")
    assert rolled.splitlines() == ["1: active", "2: active", "restart: 2 of 2 succeeded"]
    one = ok(runner, live_server, "restart", "2", "--rolling", "--timeout", "10")
    assert one.strip() == "2: active"
    ok(runner, live_server, "down", "all")


def test_upgrade_to_a_version_rolling(runner: CliRunner, live_server: Settings) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        assert http.post("/v1/apps", json=SITE, params={"default": "true"}).status_code == 201
        assert http.post("/v1/apps", json={**SITE, "version": "2"}).status_code == 200
    ok(runner, live_server, "create", "1", "--version", "1")
    ok(runner, live_server, "create", "2", "--version", "1")
    ok(runner, live_server, "up", "all")
    rolled = ok(runner, live_server, "upgrade", "all", "--to", "2", "--rolling")
    assert rolled.splitlines() == ["1: hc 2", "2: hc 2", "upgrade: 2 of 2 succeeded"]
    again = ok(runner, live_server, "upgrade", "1", "--to", "2")
    assert again.strip() == "1 is already on hc 2"
    missing = roost(runner, live_server, "upgrade", "all", "--to", "9")
    assert missing.exit_code == 1 and "(PARTIAL_FAILURE)" in missing.stderr
    ok(runner, live_server, "down", "all")
