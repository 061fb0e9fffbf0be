"""Seed 004's flow through the CLI against a real server, with real processes:
up 1, up 2, status all, logs (and following them), down 1, clean 1, down all."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from roost.settings import Settings
from tests.cli.test_commands import as_json, ok, roost
from tests.servers import free_base

pytestmark = pytest.mark.slow

SERVE = (
    "import http.server, os\n"
    "print('up on', os.environ['PORT'], flush=True)\n"
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])),"
    " http.server.SimpleHTTPRequestHandler).serve_forever()\n"
)


def spec(tmp_path: Path, base: int) -> Path:
    (tmp_path / "serve.py").write_text(SERVE)
    path = tmp_path / "roost.toml"
    path.write_text(
        f"""
default_app = "dev"
[apps.dev]
version = "1"
port_stride = 10
[apps.dev.ports]
backend = {base}
frontend = {base + 5}
[apps.dev.files]
"serve.py" = "serve.py"
[apps.dev.services.backend]
command = [{json.dumps(sys.executable)}, "serve.py"]
[apps.dev.services.frontend]
command = [{json.dumps(sys.executable)}, "serve.py"]
depends_on = ["backend"]
"""
    )
    return path


def test_seed_004_flow(runner: CliRunner, live_server: Settings, tmp_path: Path) -> None:
    base = free_base()
    ok(runner, live_server, "apps", "add", str(spec(tmp_path, base)))
    assert ok(runner, live_server, "up", "1").strip() == "1: active"  # created, then started
    assert ok(runner, live_server, "up", "2").strip() == "2: active"
    taken = roost(runner, live_server, "up", "1")  # already up: nothing to do
    assert taken.exit_code == 0

    rows = {row["instance_id"]: row for row in as_json(runner, live_server, "status", "all")}
    assert rows["1"]["state"] == rows["2"]["state"] == "active"
    ports = {(r, s["service"]): s["port"] for r in rows for s in rows[r]["services"]}
    assert ports == {
        ("1", "backend@1"): base + 10,
        ("1", "frontend@1"): base + 15,
        ("2", "backend@2"): base + 20,
        ("2", "frontend@2"): base + 25,
    }
    table = ok(runner, live_server, "status", "all")
    assert "backend" in table and "running" in table

    logs = ok(runner, live_server, "logs", "1")
    assert f"backend | up on {base + 10}" in logs and f"frontend | up on {base + 15}" in logs
    assert ok(runner, live_server, "logs", "2", "frontend", "-n", "1").strip() == (
        f"up on {base + 25}"
    )
    home = live_server.home / "instances"
    assert (home / "1" / "env" / "backend.env").read_text() != (
        home / "2" / "env" / "backend.env"
    ).read_text()

    assert ok(runner, live_server, "down", "1").strip() == "1: inactive"
    assert "cleaned 1" in ok(runner, live_server, "clean", "1")
    assert not (home / "1" / "logs" / "backend.log").exists()
    summary = ok(runner, live_server, "down", "all")
    assert "down: 2 of 2 succeeded" in summary
    states = {
        row["instance_id"]: row["state"] for row in as_json(runner, live_server, "status", "all")
    }
    assert states == {"1": "inactive", "2": "inactive"}


def test_many_at_once_reports_each_failure(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    ok(runner, live_server, "apps", "add", str(spec(tmp_path, free_base())))
    ok(runner, live_server, "create", "1")
    ok(runner, live_server, "create", "2")
    result = roost(runner, live_server, "pause", "all")  # neither is active: both refused
    assert result.exit_code == 1
    assert "pause: 0 of 2 succeeded" in result.stdout
    assert "1: " in result.stderr and "INVALID_TRANSITION" in result.stderr
    assert result.stderr.strip().endswith("(PARTIAL_FAILURE)")
    up = roost(runner, live_server, "up", "all", "--tag", "none")
    assert up.exit_code == 0 and "no instances" in up.stdout
    one = roost(runner, live_server, "up", "1", "--app", "dev")
    assert one.exit_code == 1 and "USAGE_ERROR" in one.stderr


def test_following_logs_streams_new_lines(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    ok(runner, live_server, "apps", "add", str(spec(tmp_path, free_base())))
    ok(runner, live_server, "up", "3")
    log = live_server.home / "instances" / "3" / "logs" / "backend.log"
    with log.open("a") as handle:
        handle.write("first\n")
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        params = {"service": "backend", "tail": "1", "follow": "true"}
        try:
            with httpx.stream(
                "GET", f"{live_server.url}/v1/instances/3/logs", params=params, timeout=30
            ) as response:
                for line in response.iter_lines():
                    seen.append(line)
                    if line == "first":  # the history is out: what comes now is new
                        with log.open("a") as handle:
                            handle.write("second\nthird\n")
                    if line == "third":
                        done.set()
                        return
        except httpx.HTTPError as exc:
            seen.append(f"error: {exc}")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert done.wait(20), seen
    assert seen == ["first", "second", "third"]


def test_the_cli_follows_a_log_as_it_grows(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    """``roost logs ID SERVICE -f`` prints each new line when it is written, not later."""
    ok(runner, live_server, "apps", "add", str(spec(tmp_path, free_base())))
    ok(runner, live_server, "up", "4")
    log = live_server.home / "instances" / "4" / "logs" / "backend.log"
    with log.open("a") as handle:
        handle.write("first\n")
    command = [sys.executable, "-m", "roost", "--url", live_server.url]
    follower = subprocess.Popen(
        [*command, "logs", "4", "backend", "-f", "-n", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first\n"
        with log.open("a") as handle:
            handle.write("second\n")
        assert follower.stdout.readline() == "second\n"  # while the stream stays open
    finally:
        follower.kill()
        follower.communicate(timeout=10)  # reaped, its pipes closed
