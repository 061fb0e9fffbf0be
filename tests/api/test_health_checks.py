"""Health checks of real processes: probes of each kind, thresholds and the start period,
health changes as events, the ``health`` filter, processes gone, restarts of services
that stay unhealthy, checks of many instances at once, and the background sweep."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
import pytest

from roost.services.context import Context

pytestmark = pytest.mark.slow

SERVE = """\
import http.server, os
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
WORKER = ["sh", "-c", "while [ ! -f data/stop ]; do sleep 0.05; done"]


def spec(**web: Any) -> dict[str, Any]:
    """``web`` answers /data/ok while that file is there; ``api`` listens (probed by a
    connect to its port); ``worker`` has nothing to probe."""
    return {
        "name": "hc",
        "version": "1",
        "ports": {"web": "auto", "api": "auto"},
        "files": {"serve.py": {"content": SERVE}},
        "install": ["sh", "-c", "mkdir -p data && touch data/ok"],
        "services": {
            "web": {
                "command": [sys.executable, "serve.py"],
                "ports": ["web"],
                "health": {
                    "http": "http://127.0.0.1:{{ ports.web }}/data/ok",
                    "interval": "1s",
                    "timeout": "2s",
                    "failures": 2,
                },
                **web,
            },
            "api": {"command": [sys.executable, "serve.py"], "ports": ["api"]},
            # exits 0 (and stays gone: restart "no") once data/stop is there
            "worker": {"command": WORKER, "restart": "no"},
        },
    }


async def start(client: httpx.AsyncClient, instance_id: str) -> None:
    created = await client.post("/v1/instances", json={"app": "hc", "instance_id": instance_id})
    assert created.status_code == 201, created.text
    started = await client.post(f"/v1/instances/{instance_id}/start")
    assert started.status_code == 200, started.text


async def check(client: httpx.AsyncClient, instance_id: str) -> dict[str, Any]:
    checked = await client.post(f"/v1/instances/{instance_id}/health-check")
    assert checked.status_code == 200, checked.text
    body: dict[str, Any] = checked.json()
    return body


async def health_events(client: httpx.AsyncClient, instance_id: str) -> list[tuple[str, str]]:
    events = (await client.get("/v1/events", params={"instance_id": instance_id})).json()
    return [
        (e["details"]["from"], e["details"]["to"])
        for e in events["events"]
        if e["action"] == "instance.health"
    ]


def ok_file(context: Context, instance_id: str) -> str:
    return str(context.home.path / "instances" / instance_id / "data" / "ok")


async def test_a_check_probes_every_service_and_health_follows_the_thresholds(
    client: httpx.AsyncClient, context: Context
) -> None:
    assert (await client.post("/v1/apps", json=spec())).status_code == 201
    await start(client, "1")
    first = await check(client, "1")
    assert (first["health"], first["error"]) == ("healthy", None), first
    assert set(first["services"]) == {"web", "api", "worker"}
    assert first["services"]["web"]["passed"] and first["services"]["web"]["latency_ms"] > 0
    assert first["services"]["api"]["passed"]  # a connect to its first port
    assert first["services"]["worker"]["health"] == "healthy"  # it runs, nothing to probe
    record = (await client.get("/v1/instances/1")).json()
    assert record["health"] == "healthy" and record["last_health_check"] is not None

    os.unlink(ok_file(context, "1"))
    once = await check(client, "1")
    assert once["health"] == "healthy"  # one failure of the two it takes
    assert once["services"]["web"] == {**once["services"]["web"], "passed": False}
    twice = await check(client, "1")
    assert twice["health"] == "unhealthy"
    assert twice["error"].startswith("web: http://127.0.0.1:") and "answered 404" in twice["error"]
    listed = (await client.get("/v1/instances", params={"health": "unhealthy"})).json()
    assert [i["instance_id"] for i in listed["instances"]] == ["1"]
    record = (await client.get("/v1/instances/1")).json()
    assert (record["health"], record["health_error"]) == ("unhealthy", twice["error"])

    open(ok_file(context, "1"), "w").close()
    assert (await check(client, "1"))["health"] == "healthy"
    assert await health_events(client, "1") == [
        ("unknown", "healthy"),
        ("healthy", "unhealthy"),
        ("unhealthy", "healthy"),
    ]
    assert (await client.post("/v1/instances/1/restart")).status_code == 200
    assert (await client.get("/v1/instances/1")).json()["health"] == "unknown"  # reset
    assert (await check(client, "1"))["health"] == "healthy"
    assert (await health_events(client, "1"))[-1] == ("unknown", "healthy")  # from the reset
    assert (await client.post("/v1/instances/1/stop")).status_code == 200
    assert (await client.get("/v1/instances/1")).json()["health"] == "unknown"
    stopped = await check(client, "1")
    assert (stopped["health"], stopped["services"]) == ("unknown", {})


async def test_a_service_whose_process_is_gone_is_an_error(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=spec())
    await start(client, "1")
    open(ok_file(context, "1").replace("/ok", "/stop"), "w").close()
    for _ in range(100):
        statuses = (await client.get("/v1/instances/1/services")).json()["services"]
        if next(s for s in statuses if s["service"] == "worker@1")["status"] == "exited":
            break
        await asyncio.sleep(0.05)
    checked = await check(client, "1")
    assert checked["health"] == "error"
    assert checked["error"] == "worker: not running (exited)"
    assert (await client.get("/v1/instances/1")).json()["state"] == "active"


async def test_failures_in_the_start_period_do_not_count(
    client: httpx.AsyncClient, context: Context
) -> None:
    web = {"health": {"cmd": ["test", "-f", "data/ok"], "failures": 1, "start_period": "60s"}}
    await client.post("/v1/apps", json=spec(**web))
    await start(client, "1")
    os.unlink(ok_file(context, "1"))
    checked = await check(client, "1")
    assert checked["services"]["web"]["passed"] is False
    assert checked["services"]["web"]["failures_in_a_row"] == 0
    assert checked["health"] == "unknown"  # not known healthy yet, and not unhealthy


async def test_a_service_that_stays_unhealthy_is_restarted(
    client: httpx.AsyncClient, context: Context
) -> None:
    web = {"health": {"cmd": ["test", "-f", "data/ok"], "failures": 1}, "restart_on_unhealthy": 2}
    await client.post("/v1/apps", json=spec(**web))
    await start(client, "1")

    async def pid_of_web() -> int:
        listed = (await client.get("/v1/instances/1/services")).json()["services"]
        pid: int = next(s for s in listed if s["service"] == "web@1")["pid"]
        return pid

    before = await pid_of_web()
    os.unlink(ok_file(context, "1"))
    assert (await check(client, "1"))["health"] == "unhealthy"
    assert await pid_of_web() == before  # one failure of the two that restart it
    open(ok_file(context, "1"), "w").close()  # so that the restarted one becomes ready
    os.unlink(ok_file(context, "1"))
    await check(client, "1")
    open(ok_file(context, "1"), "w").close()
    for _ in range(200):
        events = (await client.get("/v1/events", params={"instance_id": "1"})).json()["events"]
        restarted = [e for e in events if e["action"] == "service.restarted"]
        if restarted:
            break
        await asyncio.sleep(0.05)
    assert restarted, "no restart was recorded"
    assert restarted[0]["details"]["service"] == "web"
    assert restarted[0]["details"]["reason"] == ("2 failed health checks in a row: 'test' exited 1")
    assert await pid_of_web() != before


async def test_many_instances_are_checked_at_once_and_one_failure_fails_none(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=spec())
    for instance_id in ("1", "2"):
        await start(client, instance_id)
    created = await client.post("/v1/instances", json={"app": "hc", "instance_id": "3"})
    assert created.status_code == 201
    os.unlink(ok_file(context, "2"))
    body = {"instance_ids": ["1", "2", "3", "nobody"]}
    for _ in range(2):  # two failures make 2 unhealthy
        answer = await client.post("/v1/health-checks", json=body)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert {k: v["health"] for k, v in results.items()} == {
        "1": "healthy",
        "2": "unhealthy",
        "3": "unknown",  # never started
        "nobody": "error",
    }
    assert results["nobody"]["code"] == "INSTANCE_NOT_FOUND"
    assert results["1"]["checked_at"].endswith("Z")
    by_app = (await client.post("/v1/health-checks", json={"app": "hc"})).json()["results"]
    assert set(by_app) == {"1", "2", "3"}
    bad_id = await client.post("/v1/health-checks", json={"instance_ids": ["Not An Id"]})
    assert bad_id.json()["results"]["Not An Id"]["code"] == "INVALID_INSTANCE_ID"
    empty = await client.post("/v1/health-checks", json={"instance_ids": []})
    assert (empty.status_code, empty.json()["code"]) == (422, "VALIDATION_ERROR")


async def test_the_background_sweep_checks_active_instances_by_itself(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=spec())
    await start(client, "1")

    async def health_becomes(wanted: str) -> dict[str, Any]:
        for _ in range(150):
            record: dict[str, Any] = (await client.get("/v1/instances/1")).json()
            if record["health"] == wanted:
                return record
            await asyncio.sleep(0.1)
        raise AssertionError(f"not {wanted} in time: {record}")

    healthy = await health_becomes("healthy")  # no check was asked for: the sweep's
    os.unlink(ok_file(context, "1"))
    unhealthy = await health_becomes("unhealthy")
    assert unhealthy["last_health_check"] > healthy["last_health_check"]
    assert await health_events(client, "1") == [("unknown", "healthy"), ("healthy", "unhealthy")]
