"""Metrics of real processes: the sampler's samples and series, a service's own
Prometheus text scraped, retention and downsampling, ``GET /metrics`` read by
prometheus-client's parser and ``promtool check metrics``, usage and top."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from roost.domain.metrics import DAY_S, Retention, Sample
from roost.registry import instances as q
from roost.registry import metrics as store
from roost.services.context import Context
from roost.services.metrics_sampler import MetricsSampler, compact

pytestmark = pytest.mark.slow

SERVE = """\
import http.server, os, threading, time
def burn():
    while True:
        end = time.time() + 0.05
        while time.time() < end:
            pass
        time.sleep(0.05)
threading.Thread(target=burn, daemon=True).start()
BODY = b'# TYPE jobs_done counter\\njobs_done_total{queue="a"} 42\\n# TYPE temp gauge\\ntemp 21.5\\n'
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/metrics" else 404)
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""
SPEC = {
    "name": "busy",
    "version": "1",
    "ports": {"web": "auto"},
    "files": {"serve.py": {"content": SERVE}},
    "services": {
        "web": {
            "command": [sys.executable, "serve.py"],
            "ports": ["web"],
            "metrics": "http://127.0.0.1:{{ ports.web }}/metrics",
        }
    },
}


async def running(client: httpx.AsyncClient, *ids: str) -> None:
    assert (await client.post("/v1/apps", json=SPEC)).status_code == 201
    for instance_id in ids:
        created = await client.post(
            "/v1/instances", json={"app": "busy", "instance_id": instance_id}
        )
        assert created.status_code == 201, created.text
        assert (await client.post(f"/v1/instances/{instance_id}/start")).status_code == 200


async def series(client: httpx.AsyncClient, instance_id: str, **params: Any) -> Any:
    got = await client.get(f"/v1/instances/{instance_id}/metrics", params=params)
    assert got.status_code == 200, got.text
    return got.json()["series"]


async def test_the_sampler_measures_a_running_instance(
    client: httpx.AsyncClient, context: Context
) -> None:
    await running(client, "m1", "m2")
    assert (await client.post("/v1/instances/m2/stop")).status_code == 200
    for key in ("a", "b"):
        put = await client.put(
            f"/v1/cache/{key}", content=b"12345", headers={"X-Instance-Id": "m1"}
        )
        assert put.status_code == 204
    sampler = MetricsSampler(context)
    assert await sampler.sample() == 1  # m2 is stopped: not sampled
    await asyncio.sleep(0.5)
    await context.background.settle(within=10)  # the disk walk begun by the first sample
    assert await sampler.sample() == 1

    found = await series(client, "m1", since="1h")
    assert len(found["memory_bytes"]) == 2 and found["memory_bytes"][-1][1] > 1_000_000
    assert [p[1] for p in found["processes"]] == [1, 1]
    assert [p[1] for p in found["up"]] == [1, 1]
    assert len(found["cpu_percent"]) == 1  # from the second sample on
    assert 5 < found["cpu_percent"][0][1] < 150  # it burns about half a core
    assert found["cache_keys"][-1][1] == 2 and found["cache_bytes"][-1][1] == 12
    assert found["cache_ops"][0][1] == 2  # the two PUTs, counted in the first span
    assert found["disk_bytes"][-1][1] > 0  # measured off the loop, after the first sample
    assert found['web:jobs_done_total{queue="a"}'][-1][1] == 42
    assert found["web:temp"][-1][1] == 21.5
    assert found["uptime_s"][-1][1] > 0

    only = await series(client, "m1", name=["cpu_percent", "restarts"], since="10m", step="1h")
    assert set(only) == {"cpu_percent", "restarts"} and len(only["restarts"]) == 1
    assert await series(client, "m2") == {}  # never sampled


async def test_metric_queries_are_checked(client: httpx.AsyncClient, context: Context) -> None:
    await running(client, "m1")
    for params, code in (
        ({"name": "cpu"}, "UNKNOWN_METRIC"),
        ({"since": "soon"}, "INVALID_DURATION"),
        ({"since": "1h", "step": "10ms"}, "INVALID_STEP"),
    ):
        got = await client.get("/v1/instances/m1/metrics", params=params)
        assert (got.status_code, got.json()["code"]) == (400, code), params
    month = await client.get("/v1/instances/m1/metrics", params={"since": "30d"})
    assert month.status_code == 200  # more than 10,000 samples: a step is chosen
    missing = await client.get("/v1/instances/nobody/metrics")
    assert (missing.status_code, missing.json()["code"]) == (404, "INSTANCE_NOT_FOUND")


async def test_old_samples_are_merged_and_expired_ones_dropped(
    client: httpx.AsyncClient, context: Context
) -> None:
    await running(client, "m1")
    now = time.time()
    minute = (now - 2 * DAY_S) // 60 * 60  # two days old: merged into a minute
    old = [
        Sample(minute + 15 * i, 15, {"memory_bytes": 100 * (i + 1), "restarts": 1})
        for i in range(4)
    ]
    expired = [Sample(now - 8 * DAY_S, 15, {"memory_bytes": 1})]
    recent = [Sample(now - 60, 15, {"memory_bytes": 7}), Sample(now - 45, 15, {"memory_bytes": 9})]
    taken = [store.Taken("m1", s, {"web:temp": 20.0}) for s in [*old, *expired, *recent]]
    assert await context.registry.write(store.add_samples, taken) == 7
    assert await compact(context, Retention()) == (1, 4)
    instance = await context.registry.read(q.get_instance, "m1")
    assert instance is not None
    kept = await context.registry.read(store.samples_of, instance.pk, 0)
    assert [(s.t, s.span) for s in kept] == [(minute, 60), (now - 60, 15), (now - 45, 15)]
    assert kept[0].values == {"memory_bytes": 250, "restarts": 4, "web:temp": 20.0}
    assert await compact(context, Retention()) == (0, 0)  # nothing left to do
    await client.delete("/v1/instances/m1")  # the samples go with the instance
    assert await context.registry.read(store.samples_of, instance.pk, 0) == []


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(family: Any, **labels: str) -> float:
    for sample in family.samples:
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            return float(sample.value)
    raise AssertionError(f"no sample {labels} in {family.name}")


async def test_prometheus_exposition_has_every_instance_and_passes_promtool(
    client: httpx.AsyncClient, context: Context, tmp_path: Any
) -> None:
    await running(client, "m1")
    await MetricsSampler(context).sample()
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = families(scraped.text)
    assert value(found["roost_instance_memory_bytes"], instance_id="m1", app="busy") > 1_000_000
    assert value(found["roost_service_up"], instance_id="m1", service="web") == 1
    assert value(found["roost_instance_info"], instance_id="m1", measured_by="processes") == 1
    assert value(found["roost_service_restarts"], instance_id="m1", service="web") == 0
    assert value(found["roost_http_requests"], route="/v1/instances/{instance_id}/start") == 1
    assert found["roost_http_request_duration_seconds"].type == "histogram"
    assert value(found["roost_job_runs"], job="health-checks") >= 0
    checked = promtool_check(scraped.text)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed (scripts/test installs it)"
    return subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )


def test_promtool_refuses_a_broken_exposition() -> None:
    """The check above can fail: promtool refuses one family given two types."""
    broken = "# TYPE a counter\na_total 1\n# TYPE a gauge\na 2\n"
    assert promtool_check(broken).returncode != 0


async def test_usage_and_top(client: httpx.AsyncClient, context: Context) -> None:
    await running(client, "m1", "m2")
    sampler = MetricsSampler(context)
    await sampler.sample()
    await asyncio.sleep(0.3)
    await sampler.sample()
    stopped = await client.post("/v1/instances/m2/services/web/stop")
    assert stopped.status_code == 200, stopped.text
    await asyncio.sleep(0.3)
    await sampler.sample()  # m2 is active with its one service stopped: not up
    got = await client.get("/v1/usage", params={"since": "1h"})
    assert got.status_code == 200, got.text
    report = got.json()
    rows = {r["instance_id"]: r for r in report["instances"]}
    assert set(rows) == {"m1", "m2"}
    assert 0 < rows["m2"]["uptime_percent"] < rows["m1"]["uptime_percent"] <= 100
    assert rows["m1"]["memory_bytes_max"] > 1_000_000 and rows["m1"]["restarts"] == 0
    assert {r["instance_id"] for r in report["top_memory"]} == {"m1", "m2"}
    assert (await client.get("/v1/usage", params={"since": "0s"})).status_code == 400

    first = await client.get("/v1/top")
    await asyncio.sleep(0.5)
    second = (await client.get("/v1/top", params={"sort": "memory"})).json()["instances"]
    assert first.status_code == 200
    assert [r["instance_id"] for r in second] != [] and {r["instance_id"] for r in second} == {
        "m1",
        "m2",
    }
    assert second[0]["memory_bytes"] >= second[1]["memory_bytes"]
    by_id = {r["instance_id"]: r for r in second}
    assert 5 < by_id["m1"]["cpu_percent"] < 150, second  # since the first top
    assert (by_id["m2"]["cpu_percent"], by_id["m2"]["processes"]) == (0, 0)  # web stopped
    bad = await client.get("/v1/top", params={"sort": "colour"})
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_SORT")


async def test_a_deleted_instance_leaves_no_request_count_behind(
    client: httpx.AsyncClient, context: Context
) -> None:
    put = await client.put("/v1/cache/k", content=b"v", headers={"X-Instance-Id": "gone"})
    assert put.status_code == 204  # the data plane made the instance
    assert context.directory.operations["gone"] == 1
    assert (await client.delete("/v1/instances/gone")).status_code == 204
    assert "gone" not in context.directory.operations
