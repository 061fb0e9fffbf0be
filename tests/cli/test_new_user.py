"""What a new user trips over, through the real ``roost`` executable: ``all`` means the
instances that run something, a start of a bare instance says nothing runs, one service
is ``service@instance``, and tables into a pipe keep each value whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_base, free_port, listener, server

pytestmark = pytest.mark.slow
ROOST = str(Path(sys.executable).with_name("roost"))
LONG = "a-rather-long-instance-id-that-a-terminal-of-eighty-columns-cut"
SERVICE = listener(say="up on")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A server with an app that runs (the default), a bare instance and a product."""
    port, base = free_port(), free_base()
    home = tmp_path / "home"
    with server(home, port, ROOST_PORT_RANGE=f"{base}-{base + 399}"):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            spec = {
                "name": "web",
                "version": "1",
                "ports": {"http": "auto"},
                "services": {
                    "site": {"command": [sys.executable, "-c", SERVICE], "ports": ["http"]}
                },
            }
            assert http.post("/v1/apps", json=spec, params={"default": "true"}).is_success
            for instance_id in ("1", LONG):
                assert http.post("/v1/instances", json={"instance_id": instance_id}).is_success
            bare = {"app": "default", "instance_id": "pvp"}
            assert http.post("/v1/instances", json=bare).is_success
            product = {"product_id": "ProductA"}
            assert http.post("/api/instance/register", json=product).is_success
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
        env["ROOST_HOME"] = str(home)
        yield env
        run(env, "down", "all")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # stdout is a pipe, as in a script
        [ROOST, *args], env=env, capture_output=True, text=True, timeout=120
    )


def ok(env: dict[str, str], *args: str) -> str:
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_all_means_the_instances_that_run_something(home: dict[str, str]) -> None:
    up = ok(home, "up", "all")
    assert sorted(up.splitlines()[:-1]) == ["1: active", f"{LONG}: active"]
    assert up.splitlines()[-1] == "up: 2 of 2 succeeded"
    rows = json.loads(ok(home, "status", "all", "--json"))
    assert sorted(row["instance_id"] for row in rows) == ["1", LONG]
    assert ok(home, "up", "pvp").strip() == (
        "pvp: active (nothing to run: the app 'default' has no services)"
    )
    named = json.loads(ok(home, "status", "all", "--app", "default", "--json"))
    assert [row["instance_id"] for row in named] == ["pvp"]
    down = ok(home, "down", "all")
    assert down.splitlines()[-1] == "down: 2 of 2 succeeded"
    assert json.loads(ok(home, "status", "pvp", "--json"))[0]["state"] == "active"


def test_one_service_is_service_at_instance(home: dict[str, str]) -> None:
    ok(home, "up", "1")
    before = json.loads(ok(home, "status", "1", "--json"))[0]["services"][0]["pid"]
    assert ok(home, "restart", "site@1").strip() == "site@1: running"
    after = json.loads(ok(home, "status", "1", "--json"))[0]["services"][0]["pid"]
    assert after != before
    assert ok(home, "logs", "site@1", "-n", "1").strip().startswith("up on ")
    assert ok(home, "stop", "site@1").strip() == "site@1: stopped"
    assert ok(home, "start", "site@1").strip() == "site@1: running"
    paused = run(home, "pause", "site@1")
    assert paused.returncode == 1 and paused.stderr.strip().endswith("(USAGE_ERROR)")
    missing = run(home, "restart", "nope@1")
    assert missing.returncode == 1 and missing.stderr.strip().endswith("(SERVICE_NOT_FOUND)")


def test_a_table_into_a_pipe_keeps_every_value_whole(home: dict[str, str]) -> None:
    ok(home, "up", LONG)
    table = ok(home, "status", LONG)
    rows = [line for line in table.splitlines() if LONG in line]
    assert len(rows) == 1, table  # the row is one line, the id whole
    port = json.loads(ok(home, "status", LONG, "--json"))[0]["services"][0]["port"]
    assert " site " in rows[0] and f" {port} " in rows[0]
    listed = ok(home, "list")
    assert any(LONG in line and "active" in line for line in listed.splitlines())
