"""Lifecycle actions run real processes: start and stop, a failed start, crashes past the
start limit, pause, delete, services and their actions, config applied on restart, and
adoption by the next server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from roost.composition import open_context
from roost.registry.tables import service_processes
from roost.runtime.inventory import MARKER
from roost.runtime.local import cgroup_scope
from roost.runtime.readiness import listening
from roost.runtime.supervisor import LocalSupervisor
from roost.services.boot import boot
from roost.services.context import Context
from roost.services.logs import rotate_logs
from roost.settings import Settings
from roost.tokens import cache_token
from tests.conftest import api_client, opened_context

pytestmark = pytest.mark.slow

SERVE = """\
import http.server, json, os, pathlib
pathlib.Path("data").mkdir(exist_ok=True)
pathlib.Path("data/env-" + os.environ["SERVICE"] + ".json").write_text(json.dumps(dict(os.environ)))
print("serving on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def app(**service: Any) -> dict[str, Any]:
    return {
        "name": "svc",
        "version": "1",
        "ports": {"api": "auto", "web": "auto"},  # from this test worker's own range
        "config": {"greeting": "hello"},
        "files": {"serve.py": {"content": SERVE}},
        "services": {
            "api": {
                "command": [sys.executable, "serve.py"],
                "env": {"SERVICE": "api", "GREETING": "{{ config.greeting }}"},
                "secrets": ["token"],
                "start_timeout": "10s",
                **service,
            },
            "web": {
                "command": [sys.executable, "serve.py"],
                "env": {"SERVICE": "web"},
                "depends_on": ["api"],
            },
        },
    }


async def create(client: httpx.AsyncClient, instance_id: str) -> dict[str, int]:
    created = await client.post("/v1/instances", json={"app": "svc", "instance_id": instance_id})
    assert created.status_code == 201, created.text
    ports: dict[str, int] = created.json()["ports"]
    return ports


def env_of(context: Context, instance_id: str, service: str) -> dict[str, str]:
    path = context.home.path / "instances" / instance_id / "data" / f"env-{service}.json"
    result: dict[str, str] = json.loads(path.read_text())
    return result


async def services(client: httpx.AsyncClient, instance_id: str) -> dict[str, dict[str, Any]]:
    body = (await client.get(f"/v1/instances/{instance_id}/services")).json()
    return {s["service"].split("@")[0]: s for s in body["services"]}


def gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def eventually(check: Any, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.1)


async def test_start_runs_every_service_and_stop_ends_them(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=app())
    ports = await create(client, "1")
    await client.put("/v1/instances/1/secrets/token", json={"value": "t0k"})
    started = await client.post("/v1/instances/1/start")
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "active"
    assert await listening(ports["api"]) and await listening(ports["web"])
    api_env = env_of(context, "1", "api")
    assert api_env["ROOST_INSTANCE_ID"] == "1" and api_env["PORT"] == str(ports["api"])
    assert api_env["PORT_WEB"] == str(ports["web"]) and api_env["token"] == "t0k"
    assert api_env["GREETING"] == "hello" and "token" not in env_of(context, "1", "web")
    assert os.path.realpath(api_env["ROOST_INSTANCE_DIR"]) == str(
        (context.home.path / "instances" / "1").resolve()
    )
    log = (context.home.path / "instances" / "1" / "logs" / "api.log").read_text()
    assert f"serving on {ports['api']}" in log
    own = cache_token(context.box.keys, "1")  # each process's token for its namespace
    assert api_env["ROOST_CACHE_TOKEN"] == env_of(context, "1", "web")["ROOST_CACHE_TOKEN"] == own
    written = [p for p in (context.home.path / "instances" / "1").rglob("*") if p.is_file()]
    roosts_own = [p for p in written if "data" not in p.parts and "logs" not in p.parts]
    assert roosts_own and not any(own in p.read_text() for p in roosts_own)  # in no file of roost's

    listed = await services(client, "1")
    assert listed["api"]["service"] == "api@1" and listed["api"]["status"] == "running"
    assert listed["web"]["port"] == ports["web"] and listed["web"]["rss_bytes"] > 0
    pids = [listed["api"]["pid"], listed["web"]["pid"]]
    assert all(psutil.pid_exists(pid) for pid in pids)

    stopped = await client.post("/v1/instances/1/stop")
    assert stopped.json()["state"] == "inactive"
    assert all(gone(pid) for pid in pids)
    assert {s["status"] for s in (await services(client, "1")).values()} == {"stopped"}


async def test_many_instances_act_in_one_request_with_a_line_each(
    client: httpx.AsyncClient,
) -> None:
    """What ``up all`` and ``down all`` send: each instance's outcome as a JSON line; one
    failure does not stop the others, and an id given twice is acted on once."""
    await client.post("/v1/apps", json=app())
    ports = {i: await create(client, i) for i in ("20", "21")}
    await client.put("/v1/instances/21/secrets/token", json={"value": "s"})
    ids = ["20", "21", "21", "nope", "Bad Id"]
    started = await client.post("/v1/instances/start", json={"instance_ids": ids})
    assert started.status_code == 200
    assert started.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in started.text.splitlines()]
    outcomes = {line["instance_id"]: line for line in lines}
    assert len(lines) == 4 and set(outcomes) == {"20", "21", "nope", "Bad Id"}
    assert outcomes["20"]["instance"]["state"] == outcomes["21"]["instance"]["state"] == "active"
    assert (outcomes["nope"]["status"], outcomes["nope"]["code"]) == (404, "INSTANCE_NOT_FOUND")
    assert outcomes["Bad Id"]["code"] == "INVALID_INSTANCE_ID"
    for instance_id in ("20", "21"):
        assert await listening(ports[instance_id]["api"])
        assert await listening(ports[instance_id]["web"])
    stopped = await client.post("/v1/instances/stop", json={"instance_ids": ["20", "21"]})
    states = {json.loads(line)["instance"]["state"] for line in stopped.text.splitlines()}
    assert states == {"inactive"}
    assert not await listening(ports["20"]["api"]) and not await listening(ports["21"]["web"])
    bad_bodies: list[dict[str, Any]] = [{"instance_ids": []}, {}, {"instance_ids": ["20"], "x": 1}]
    for body in bad_bodies:
        refused = await client.post("/v1/instances/start", json=body)
        assert refused.status_code == 422 and refused.json()["code"] == "VALIDATION_ERROR"


async def test_config_changes_apply_on_restart(client: httpx.AsyncClient, context: Context) -> None:
    await client.post("/v1/apps", json=app())
    await create(client, "2")
    await client.post("/v1/instances/2/start")
    before = (await services(client, "2"))["api"]["pid"]
    await client.patch("/v1/instances/2/config", json={"greeting": "bonjour"})
    assert env_of(context, "2", "api")["GREETING"] == "hello"  # running: unchanged
    restarted = await client.post("/v1/instances/2/restart")
    assert restarted.json()["state"] == "active"
    assert env_of(context, "2", "api")["GREETING"] == "bonjour"
    assert (await services(client, "2"))["api"]["pid"] != before
    assert gone(before)


async def test_a_failed_start_is_an_error_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    spec = app(command=[sys.executable, "-c", "print('no database'); exit(4)"])
    await client.post("/v1/apps", json=spec)
    await create(client, "3")
    failed = await client.post("/v1/instances/3/start")
    assert failed.status_code == 409
    assert failed.json()["code"] == "START_FAILED"
    assert "api@3 exited with code 4 while starting" in failed.json()["error"]
    instance = (await client.get("/v1/instances/3")).json()
    assert instance["state"] == "error" and "no database" in instance["error"]
    events = (await client.get("/v1/events", params={"instance_id": "3"})).json()["events"]
    assert events[-1]["action"] == "instance.failed"


async def test_a_port_another_process_holds_is_refused_before_the_spawn(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/apps", json=app())
    ports = await create(client, "12")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        squatter.bind(("127.0.0.1", ports["api"]))
        squatter.listen()
        refused = await client.post("/v1/instances/12/start")
        assert refused.status_code == 409 and refused.json()["code"] == "PORT_CONFLICT"
        assert f"port {ports['api']} is taken by" in refused.json()["error"]
        assert f"(pid {os.getpid()})" in refused.json()["error"]
        assert {s["status"] for s in (await services(client, "12")).values()} <= {
            "failed",
            "stopped",
        }
    assert (await client.post("/v1/instances/12/start")).json()["state"] == "active"
    await client.post("/v1/instances/12/stop")


async def test_a_port_taken_after_the_spawn_does_not_make_the_service_ready(
    client: httpx.AsyncClient,
) -> None:
    """The service never listens; another process takes its port while it starts. Its
    start times out instead of reporting ``active`` (which the socket would have done)."""
    never = [sys.executable, "-c", "import time; time.sleep(600)"]
    await client.post("/v1/apps", json=app(command=never, start_timeout="2s"))
    ports = await create(client, "13")
    starting = asyncio.ensure_future(client.post("/v1/instances/13/start"))

    async def spawned() -> bool:
        return any(
            "time.sleep(600)" in " ".join(p.info["cmdline"] or [])
            for p in psutil.process_iter(["cmdline"])
        )

    await eventually(spawned)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        squatter.bind(("127.0.0.1", ports["api"]))
        squatter.listen()
        failed = await starting
    assert failed.status_code == 409 and failed.json()["code"] == "START_TIMEOUT"


async def test_crashing_past_the_start_limit_puts_the_instance_in_error(
    client: httpx.AsyncClient,
) -> None:
    crashy = "import threading, os\nthreading.Timer(0.3, lambda: os._exit(7)).start()\n" + SERVE
    spec = app()
    spec["files"]["serve.py"]["content"] = crashy
    await client.post("/v1/apps", json=spec)
    await create(client, "4")
    assert (await client.post("/v1/instances/4/start")).json()["state"] == "active"

    async def errored() -> bool:
        return bool((await client.get("/v1/instances/4")).json()["state"] == "error")

    await eventually(errored, within=60)
    instance = (await client.get("/v1/instances/4")).json()
    assert "exited with code 7" in instance["error"] and "giving up" in instance["error"]
    assert {s["status"] for s in (await services(client, "4")).values()} <= {
        "failed",
        "stopped",
    }


async def answers(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=0.5) as http:
            return (await http.get(f"http://127.0.0.1:{port}/")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_pause_freezes_and_resume_thaws(client: httpx.AsyncClient) -> None:
    await client.post("/v1/apps", json=app())
    ports = await create(client, "5")
    await client.post("/v1/instances/5/start")
    pid = (await services(client, "5"))["api"]["pid"]
    assert await answers(ports["api"])
    assert (await client.post("/v1/instances/5/pause")).json()["state"] == "paused"
    listing = (await client.get("/v1/instances/5/services")).json()
    # the cgroup v1 freezer where roost may write it (root here), else SIGSTOP
    assert listing["limits"]["freezer"] in ("cgroup-v1", "cgroup-v2", "signals")
    if os.geteuid() == 0:
        assert listing["limits"]["freezer"] == "cgroup-v1"
    assert {s["status"] for s in listing["services"]} == {"paused"}
    assert not await answers(ports["api"])  # frozen: the kernel queues, nobody answers
    assert (await client.post("/v1/instances/5/resume")).json()["state"] == "active"
    assert await answers(ports["api"])
    await client.post("/v1/instances/5/pause")
    await client.post("/v1/instances/5/stop")  # a frozen service still stops
    assert gone(pid)


async def test_deleting_a_running_instance_stops_it(client: httpx.AsyncClient) -> None:
    await client.post("/v1/apps", json=app())
    await create(client, "6")
    await client.post("/v1/instances/6/start")
    pids = [s["pid"] for s in (await services(client, "6")).values()]
    assert (await client.delete("/v1/instances/6")).status_code == 204
    assert all(gone(pid) for pid in pids)


async def test_one_service_can_be_stopped_started_and_restarted(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/apps", json=app())
    ports = await create(client, "7")
    refused = await client.post("/v1/instances/7/services/api/start")
    assert refused.status_code == 409 and refused.json()["code"] == "INVALID_TRANSITION"
    await client.post("/v1/instances/7/start")
    web = (await services(client, "7"))["web"]["pid"]
    stopped = await client.post("/v1/instances/7/services/api/stop")
    assert {s["service"]: s["status"] for s in stopped.json()["services"]} == {
        "api@7": "stopped",
        "web@7": "running",
    }
    assert not await listening(ports["api"])
    started = await client.post("/v1/instances/7/services/api/start")
    assert started.json()["services"][0]["status"] == "running"
    restarted = await client.post("/v1/instances/7/services/web/restart")
    assert restarted.json()["services"][1]["pid"] != web
    missing = await client.post("/v1/instances/7/services/nope/start")
    assert missing.status_code == 404 and missing.json()["code"] == "SERVICE_NOT_FOUND"
    bad = await client.post("/v1/instances/7/services/api/explode")
    assert bad.status_code == 422


async def test_the_next_server_adopts_what_runs_and_supervises_it(
    settings: Settings, tmp_path: Path
) -> None:
    """A server that stops without stopping its services; the next one adopts them (same
    pids, no duplicates) and restarts one that crashes afterwards."""
    keep = replace(settings, stop_on_exit=False)
    async with opened_context(keep) as first, api_client(first) as client:
        await client.post("/v1/apps", json=app(restart="always"))
        await create(client, "8")
        await client.post("/v1/instances/8/start")
        before = {name: s["pid"] for name, s in (await services(client, "8")).items()}
    assert all(not gone(pid) for pid in before.values())  # outlived their server
    second = await open_context(settings)  # stop_on_exit: the test cleans up after itself
    try:
        await boot(second)
        async with api_client(second) as client:
            after = {name: s["pid"] for name, s in (await services(client, "8")).items()}
            assert after == before
            assert (await client.get("/v1/instances/8")).json()["state"] == "active"
            os.kill(before["api"], signal.SIGKILL)

            async def replaced() -> bool:
                api = (await services(client, "8"))["api"]
                return bool(api["status"] == "running" and api["pid"] != before["api"])

            await eventually(replaced)
            assert (await services(client, "8"))["api"]["restarts"] == 1
    finally:
        await second.close()
        stray = [pid for pid in before.values() if not gone(pid)]
        for pid in stray:  # not adopted (the test failed): nothing may outlive the test
            os.kill(pid, signal.SIGKILL)
    assert not stray


async def test_the_next_server_finds_what_no_server_recorded(settings: Settings) -> None:
    """A server killed before it recorded what it started: the next one finds those
    processes by their marker (and cgroup), adopts the ones of an instance that should
    run, stops one of an instance that should not, and says so in one event each."""
    keep = replace(settings, stop_on_exit=False)
    async with opened_context(keep) as first, api_client(first) as client:
        await client.post("/v1/apps", json=app())
        await create(client, "10")
        await create(client, "11")
        await client.post("/v1/instances/10/start")
        before = {name: s["pid"] for name, s in (await services(client, "10")).items()}
        assert isinstance(first.runtime, LocalSupervisor)
        await first.runtime.settle()  # every change recorded: then the records are lost
        await first.registry.write(lambda conn: conn.execute(service_processes.delete()))
        scope = cgroup_scope(first.home.path)
    stray = subprocess.Popen(  # noqa: ASYNC220 - what a start of "11" cut short leaves
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env={**os.environ, MARKER: f"{scope}/11/api"},
        start_new_session=True,
    )
    second = await open_context(settings)
    try:
        await boot(second)
        assert stray.wait(timeout=10) == -signal.SIGTERM
        async with api_client(second) as client:
            after = {name: s["pid"] for name, s in (await services(client, "10")).items()}
            assert after == before
            assert (await client.get("/v1/instances/10")).json()["state"] == "active"
            assert (await client.get("/v1/instances/11")).json()["state"] == "inactive"
            events = (await client.get("/v1/events", params={"limit": 1000})).json()["events"]
            told = {
                e["instance_id"]: e["details"]
                for e in events
                if e["action"] == "instance.reconciled"
            }
            assert sorted(told["10"]["adopted_unrecorded"]) == ["api", "web"]
            assert told["10"]["stopped"] == [] and told["10"]["missing"] == []
            assert told["11"]["stopped"] == [{"service": "api", "pid": stray.pid}]
    finally:
        await second.close()
        left = [pid for pid in before.values() if not gone(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        if stray.poll() is None:
            stray.kill()
            stray.wait()
    assert not left


@pytest.mark.parametrize("autostart", [True, False])
async def test_the_next_server_starts_what_should_run_unless_told_not_to(
    settings: Settings, autostart: bool
) -> None:
    """Services that died while no server ran are started at boot (autostart), or left
    alone with the instance in error saying so (--no-autostart); nothing is started twice."""
    keep = replace(settings, stop_on_exit=False)
    async with opened_context(keep) as first, api_client(first) as client:
        await client.post("/v1/apps", json=app())
        await create(client, "9")
        await client.post("/v1/instances/9/start")
        pids = [s["pid"] for s in (await services(client, "9")).values()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    second = await open_context(replace(settings, autostart=autostart))
    try:
        await boot(second)
        async with api_client(second) as client:
            now = await services(client, "9")
            if autostart:
                assert {s["status"] for s in now.values()} == {"running"}
                assert not {s["pid"] for s in now.values()} & set(pids)
                assert (await client.get("/v1/instances/9")).json()["state"] == "active"
            else:  # left alone, and the instance says it does not run
                assert {s["status"] for s in now.values()} == {"stopped"}
                instance = (await client.get("/v1/instances/9")).json()
                assert instance["state"] == "error"
                assert "api@9, web@9 did not run" in instance["error"]
                assert "autostart is off" in instance["error"]
                started = await client.post("/v1/instances/9/start")
                assert started.json()["state"] == "active"
                assert {s["status"] for s in (await services(client, "9")).values()} == {"running"}
    finally:
        await second.close()


async def test_a_restart_with_a_bad_config_leaves_the_instance_running(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/apps", json=app())
    await create(client, "10")
    await client.post("/v1/instances/10/start")
    before = {s["pid"] for s in (await services(client, "10")).values()}
    await client.patch("/v1/instances/10/config", json={"limits": {"cpu": -1}})
    refused = await client.post("/v1/instances/10/restart")
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_LIMITS"
    assert (await client.get("/v1/instances/10")).json()["state"] == "active"
    assert {s["pid"] for s in (await services(client, "10")).values()} == before
    assert all(not gone(pid) for pid in before)


async def test_a_noisy_service_log_is_rotated_while_it_writes(
    settings: Settings,
) -> None:
    noisy = SERVE.replace(
        'print("serving on"',
        "import threading, time\n"
        "def talk():\n"
        "    while True:\n"
        '        print("x" * 99, flush=True); time.sleep(0.001)\n'
        "threading.Thread(target=talk, daemon=True).start()\n"
        'print("serving on"',
    )
    small = replace(settings, log_max_bytes=20_000, log_keep=2)
    async with opened_context(small) as ctx, api_client(ctx) as client:
        spec = app()
        spec["files"]["serve.py"]["content"] = noisy
        await client.post("/v1/apps", json=spec)
        await create(client, "11")
        await client.post("/v1/instances/11/start")
        log = ctx.home.path / "instances" / "11" / "logs" / "api.log"
        for _ in range(3):
            while log.stat().st_size <= 20_000:
                await asyncio.sleep(0.05)
            assert log in await rotate_logs(ctx)
            assert log.stat().st_size < 20_000  # truncated in place: the service goes on
        kept = sorted(p.name for p in log.parent.glob("api.log*"))
        assert kept == ["api.log", "api.log.1", "api.log.2"]
        assert (log.parent / "api.log.1").read_text().startswith("x" * 99)
        await asyncio.sleep(0.2)
        assert log.read_text().count("x" * 99) > 0  # still writing to the same file
