"""``roost backup``, ``roost backup verify`` and ``roost backups`` against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from roost.settings import Settings
from tests.cli.test_commands import ok, roost


def test_backup_list_and_verify(runner: CliRunner, live_server: Settings) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        for instance_id in ("1", "2"):
            assert http.post("/v1/instances", json={"instance_id": instance_id}).status_code == 201
    data = live_server.home / "instances" / "1" / "data"
    data.mkdir(parents=True)
    (data / "save.dat").write_bytes(b"x" * 5000)
    took = ok(runner, live_server, "backup", "1", "--note", "first")
    assert took.startswith("1: ") and " completed (" in took
    name = took.split()[1]
    listed = json.loads(ok(runner, live_server, "backups", "1", "--json"))
    assert [(b["name"], b["status"], b["note"]) for b in listed] == [(name, "completed", "first")]
    assert name in ok(runner, live_server, "backups", "1")
    assert ok(runner, live_server, "backup", "verify", "1", name).startswith(f"{name}: sound (")
    assert "has no backups" in ok(runner, live_server, "backups", "2")
    both = ok(runner, live_server, "backup", "all")
    assert "backup: 2 of 2 succeeded" in both
    assert len(json.loads(ok(runner, live_server, "backups", "2", "--json"))) == 1
    archive = live_server.home / "backups" / "1" / f"{name}.tar.zst"
    archive.write_bytes(archive.read_bytes()[:-10])
    broken = roost(runner, live_server, "backup", "verify", "1", name)
    assert broken.exit_code == 1 and broken.stderr.strip().endswith("(BACKUP_CORRUPT)")
    usage = roost(runner, live_server, "backup", "verify", "1")
    assert usage.exit_code == 1 and "(USAGE_ERROR)" in usage.stderr
    assert "no orphaned backups" in ok(runner, live_server, "backups", "--orphaned")
    removed = ok(runner, live_server, "rm", "2", "--yes", "--backup")
    assert removed.strip() == "deleted 2 (a pre-delete backup is kept)"
    orphans = json.loads(ok(runner, live_server, "backups", "--orphaned", "--json"))
    assert [(b["instance_id"], b["kind"]) for b in orphans] == [
        ("2", "pre-delete"),
        ("2", "manual"),
    ]
    neither = roost(runner, live_server, "backups")
    assert neither.exit_code == 1 and "(USAGE_ERROR)" in neither.stderr
    pre_delete = orphans[0]["name"]
    back = ok(runner, live_server, "restore", "back", "--from", pre_delete)
    assert back.strip() == f"restored {pre_delete} into a new instance back"
    assert (
        json.loads(ok(runner, live_server, "status", "back", "--json"))[0]["instance_id"] == "back"
    )
    both_ways = roost(runner, live_server, "restore", "back", name, "--from", pre_delete)
    assert both_ways.exit_code == 1 and "(USAGE_ERROR)" in both_ways.stderr
    archive.write_bytes(b"")  # the first backup of 1 is broken: take another to clone
    fresh = ok(runner, live_server, "backup", "1").split()[1]
    cloned = ok(runner, live_server, "clone", "1", "c", "--from-backup", fresh)
    assert cloned.startswith("cloned 1 to c")
    removed = ok(runner, live_server, "backup", "rm", "1", fresh, "--yes")
    assert removed.strip() == f"removed backup {fresh} of 1"
    assert fresh not in ok(runner, live_server, "backups", "1")
    assert (live_server.home / "instances" / "c" / "data" / "save.dat").read_bytes() == b"x" * 5000


SLOW_POST = {"name": "slow", "version": "1", "backup": {"post": ["sleep", "1"]}}


def slow_instance(settings: Settings, instance_id: str, **files: bytes) -> None:
    """An instance whose backups take a second after the copy (its post hook)."""
    with httpx.Client(base_url=settings.url) as http:
        assert http.post("/v1/apps", json=SLOW_POST).status_code == 201
        made = http.post("/v1/instances", json={"app": "slow", "instance_id": instance_id})
        assert made.status_code == 201, made.text
    data = settings.home / "instances" / instance_id / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (data / name).write_bytes(content)


def test_a_backup_on_a_terminal_shows_a_bar_of_bytes(live_server: Settings) -> None:
    slow_instance(live_server, "p1", save=b"s" * 3_000_000)
    env = {
        **os.environ,
        "ROOST_URL": live_server.url,
        "TTY_COMPATIBLE": "1",  # stderr counts as a terminal
        "COLUMNS": "120",
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("roost")), "backup", "p1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert " completed (" in done.stdout
    assert "3.0/3.0 MB" in done.stderr  # the bar, full, while post ran


def test_the_record_tells_how_far_a_backup_is(live_server: Settings) -> None:
    slow_instance(live_server, "p2", a=b"a" * 700_000, b=b"b" * 300_000)
    with httpx.Client(base_url=live_server.url) as http:
        name = http.post("/v1/instances/p2/backups").json()["name"]
        seen = []
        while (record := http.get(f"/v1/instances/p2/backups/{name}").json())[
            "status"
        ] == "running":
            seen.append(record["progress"])
            time.sleep(0.05)
        assert {"bytes": 1_000_000, "total": 1_000_000} in seen  # while post ran
        assert record["progress"] is None
