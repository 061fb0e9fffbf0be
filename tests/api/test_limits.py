"""Resource limits with the real cgroup v1 hierarchies of this host (roost runs as root
here): memory past its limit is killed and the event says why, cpu is capped, pids are
capped, each limit says what enforces it; config overrides the spec."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from roost.runtime.cgroups import ROOT
from roost.runtime.supervisor import LocalSupervisor
from roost.services.context import Context

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are writable by root only"),
]

UP = """\
import http.server, os, threading
server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.BaseHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
"""


def app(body: str, limits: dict[str, Any], restart: str = "no") -> dict[str, Any]:
    return {
        "name": "boxed",
        "version": "1",
        "ports": {"main": "auto"},
        "limits": limits,
        "files": {"main.py": {"content": UP + body}},
        "services": {"main": {"command": [sys.executable, "main.py"], "restart": restart}},
    }


async def start(
    client: httpx.AsyncClient, spec: dict[str, Any], config: dict[str, Any] | None = None
) -> dict[str, Any]:
    assert (await client.post("/v1/apps", json=spec)).status_code == 201
    created = await client.post(
        "/v1/instances", json={"app": "boxed", "instance_id": "1", "config": config or {}}
    )
    assert created.status_code == 201, created.text
    started = await client.post("/v1/instances/1/start")
    assert started.status_code == 200, started.text
    listing: dict[str, Any] = (await client.get("/v1/instances/1/services")).json()
    return listing


def cgroup(context: Context, controller: str) -> Path:
    supervisor = context.runtime
    assert isinstance(supervisor, LocalSupervisor) and supervisor.confiner.cgroups is not None
    cgroups = supervisor.confiner.cgroups
    assert cgroups.version == "cgroup-v1", "cgroup v1 is writable here"
    return ROOT / controller / cgroups.scope / "1"


async def test_memory_past_the_limit_is_killed_and_the_event_says_why(
    client: httpx.AsyncClient, context: Context
) -> None:
    hog = "import time\ntime.sleep(0.5)\nheld = bytearray(400 * 1024 * 1024)\ntime.sleep(60)\n"
    listing = await start(client, app(hog, {"memory": "64M"}))
    assert listing["limits"]["memory"] == {"value": 64 * 1024 * 1024, "enforced_by": "cgroup-v1"}
    limit = (cgroup(context, "memory") / "memory.limit_in_bytes").read_text().strip()
    assert limit == str(64 * 1024 * 1024)
    pid = listing["services"][0]["pid"]
    assert str(pid) in (cgroup(context, "memory") / "cgroup.procs").read_text().split()

    async def failed() -> bool:
        return bool((await client.get("/v1/instances/1")).json()["state"] == "error")

    deadline = time.monotonic() + 30
    while not await failed():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    instance = (await client.get("/v1/instances/1")).json()
    assert "going over its memory limit" in instance["error"]
    events = (await client.get("/v1/events", params={"instance_id": "1"})).json()["events"]
    [exited] = [e for e in events if e["action"] == "service.exited"]
    assert exited["details"]["exit_code"] == -9 and exited["details"]["oom_killed"] is True
    assert exited["details"]["reason"] == (
        f"was killed for going over its memory limit ({64 * 1024 * 1024} bytes)"
    )


async def test_cpu_is_capped(client: httpx.AsyncClient, context: Context) -> None:
    spin = "while True:\n    pass\n"
    listing = await start(client, app(spin, {"cpu": 0.2}))
    assert listing["limits"]["cpu"] == {"value": 0.2, "enforced_by": "cgroup-v1"}
    assert (cgroup(context, "cpu") / "cpu.cfs_quota_us").read_text().strip() == "20000"
    process = psutil.Process(listing["services"][0]["pid"])
    before = sum(process.cpu_times()[:2])
    await asyncio.sleep(1.5)
    used = sum(process.cpu_times()[:2]) - before
    assert used < 0.6  # a spinning loop uncapped takes ~1.5 s of CPU here


async def test_memory_is_measured_by_its_cgroup(
    client: httpx.AsyncClient, context: Context
) -> None:
    hold = "held = bytearray(48 * 1024 * 1024)\nimport time\ntime.sleep(60)\n"
    await start(client, app(hold, {"memory": "256M"}))
    await asyncio.sleep(0.5)
    measured = context.runtime.usage("1")
    counted = int((cgroup(context, "memory") / "memory.usage_in_bytes").read_text())
    assert measured.source == "cgroup-v1"  # memory from the cgroup; CPU from the processes
    assert measured.memory_bytes >= 48 * 1024 * 1024
    assert abs(measured.memory_bytes - counted) < 8 * 1024 * 1024


async def test_pids_are_capped(client: httpx.AsyncClient, context: Context) -> None:
    forks = (
        "import subprocess, pathlib\n"
        "started = 0\n"
        "for _ in range(40):\n"
        "    try:\n"
        "        subprocess.Popen(['sleep', '60']); started += 1\n"
        "    except OSError:\n"
        "        pass\n"
        "pathlib.Path('data').mkdir(exist_ok=True)\n"
        "pathlib.Path('data/started').write_text(str(started))\n"
        "import time; time.sleep(60)\n"
    )
    listing = await start(client, app(forks, {"pids": 16}))
    assert listing["limits"]["pids"] == {"value": 16, "enforced_by": "cgroup-v1"}
    result = context.home.path / "instances" / "1" / "data" / "started"
    deadline = time.monotonic() + 20
    while not result.exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.1)
    assert 0 < int(result.read_text()) < 16  # the service itself counts too
    assert (cgroup(context, "pids") / "pids.max").read_text().strip() == "16"


async def test_config_overrides_the_spec_and_delete_removes_the_cgroup(
    client: httpx.AsyncClient, context: Context
) -> None:
    idle = "import time\ntime.sleep(60)\n"
    listing = await start(
        client, app(idle, {"memory": "64M"}), config={"limits": {"memory": "128M"}}
    )
    assert listing["limits"]["memory"]["value"] == 128 * 1024 * 1024
    folder = cgroup(context, "memory")
    assert (folder / "memory.limit_in_bytes").read_text().strip() == str(128 * 1024 * 1024)
    await client.patch("/v1/instances/1/config", json={"limits": {"memory": None}})
    await client.post("/v1/instances/1/restart")  # applied on the next (re)start
    assert (folder / "memory.limit_in_bytes").read_text().strip() == str(64 * 1024 * 1024)
    assert (await client.delete("/v1/instances/1")).status_code == 204
    assert not folder.exists()


async def test_bad_limits_in_config_are_refused_at_start(client: httpx.AsyncClient) -> None:
    await client.post("/v1/apps", json=app("import time\ntime.sleep(60)\n", {}))
    await client.post(
        "/v1/instances",
        json={"app": "boxed", "instance_id": "1", "config": {"limits": {"cpu": -1}}},
    )
    refused = await client.post("/v1/instances/1/start")
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_LIMITS"
