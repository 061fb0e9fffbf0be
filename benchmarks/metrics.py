"""The metric sampler's CPU, and ``GET /metrics`` with many instances.

In one process (a context on a SQLite home, no background jobs, the local supervisor
running real ``sleep`` processes):

1. ``--sampled`` instances (default 100) of an app with one service. Each round times
   the CPU (``time.process_time``: every thread of the process) of one sampler round
   (measure, cache usage, the registry write), next to the baseline: reading the same
   processes' CPU times and memory with psutil, the least any sampler must do. The
   sampler's share of one core is its CPU per round over ``ROOST_METRICS_INTERVAL``
   (15 s). Target: under 2%.
2. ``--scraped`` instances (default 1,000), sampled once; then ``GET /metrics`` through
   the ASGI app, next to ``GET /v1/instances?limit=100`` in the same loop. Target: p99
   under 100 ms. (The instances' text is rendered once per sampler round, off the
   event loop; its time is printed too.)

    uv run python -m benchmarks.metrics --sampled 100 --scraped 1000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.common import percentile
from roost.api.app import create_app
from roost.auth import LOCAL_ACTOR
from roost.composition import open_context
from roost.domain.spec import parse_app
from roost.domain.states import Action
from roost.services import app_specs, lifecycle
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.services.metrics_exposition import health_by_id, render_instances
from roost.services.metrics_sampler import MetricsSampler
from roost.settings import Settings, sqlite_url

SPEC = {
    "name": "sleepy",
    "version": "1",
    "services": {"main": {"command": ["sleep", "1000000"], "ports": []}},
}


async def running(ctx: Context, count: int, prefix: str) -> list[str]:
    ids = [f"{prefix}{n}" for n in range(count)]
    for instance_id in ids:
        await create_instance(
            ctx, LOCAL_ACTOR, CreateRequest(instance_id=instance_id, app="sleepy")
        )
    async for _ in lifecycle.act_many(ctx, LOCAL_ACTOR, ids, Action.START):
        pass
    return ids


def bare_reading(pids: list[int]) -> None:
    for pid in pids:
        process = psutil.Process(pid)
        with process.oneshot():
            process.cpu_times()
            process.memory_info()


async def sampler_cpu(ctx: Context, ids: list[str], rounds: int) -> tuple[float, float]:
    sampler = MetricsSampler(ctx)
    await sampler.sample()  # plans made, first readings
    pids = [s.pid for i in ids for s in ctx.runtime.states(i, measured=False) if s.pid]
    assert len(pids) == len(ids), "every instance runs one process"
    ours, bare = [], []
    for _ in range(rounds):
        began = time.process_time()
        bare_reading(pids)
        bare.append(time.process_time() - began)
        began = time.process_time()
        stored = await sampler.sample()
        ours.append(time.process_time() - began)
        assert stored == len(ids), stored
    return statistics.median(ours), statistics.median(bare)


async def scrape_times(ctx: Context, rounds: int) -> tuple[list[float], list[float], int]:
    transport = httpx.ASGITransport(app=create_app(context=ctx))
    scrapes, lists = [], []
    size = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        for _ in range(rounds):
            began = time.perf_counter()
            got = await http.get("/metrics")
            scrapes.append(time.perf_counter() - began)
            got.raise_for_status()
            size = len(got.content)
            began = time.perf_counter()
            listed = await http.get("/v1/instances", params={"limit": 100})
            lists.append(time.perf_counter() - began)
            listed.raise_for_status()
    return scrapes, lists, size


async def run(args: argparse.Namespace, home: Path) -> None:
    settings = Settings(home=home, database_url=sqlite_url(home / "roost.db"), stop_on_exit=True)
    ctx = await open_context(settings, jobs=())
    try:
        await app_specs.register_app(
            ctx, LOCAL_ACTOR, parse_app("sleepy", SPEC), make_default=False
        )
        ids = await running(ctx, args.sampled, "s")
        ours, bare = await sampler_cpu(ctx, ids, args.rounds)
        interval = settings.metrics_interval_s
        print(f"sampler, {len(ids)} running instances ({args.rounds} rounds, medians of CPU time):")
        print(f"  bare psutil reading  {bare * 1000:8.2f} ms")
        print(f"  roost sampler round  {ours * 1000:8.2f} ms  ratio {ours / bare:.1f}")
        print(
            f"  share of one core at {interval:.0f} s: {100 * ours / interval:.3f}% (target < 2%)"
        )
        more = await running(ctx, args.scraped - args.sampled, "t")
        await MetricsSampler(ctx).sample()
        began = time.perf_counter()
        render_instances(ctx.metrics.all(), health_by_id(ctx))
        rendered = time.perf_counter() - began
        scrapes, lists, size = await scrape_times(ctx, args.requests)
        print(
            f"GET /metrics, {len(ids) + len(more)} instances ({size / 1024:.0f} KiB), {args.requests} requests:"
        )
        print(
            f"  GET /v1/instances?limit=100  p50 {statistics.median(lists) * 1000:6.1f} ms  p99 {percentile(lists, 99) * 1000:6.1f} ms"
        )
        print(
            f"  GET /metrics                 p50 {statistics.median(scrapes) * 1000:6.1f} ms  p99 {percentile(scrapes, 99) * 1000:6.1f} ms  (target p99 < 100 ms)"
        )
        print(
            f"  (the instances' text, rendered once per sampler round in a thread: {rendered * 1000:.0f} ms)"
        )
        print(f"  ratio of medians {statistics.median(scrapes) / statistics.median(lists):.1f}")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sampled", type=int, default=100)
    parser.add_argument("--scraped", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        asyncio.run(run(args, home))


if __name__ == "__main__":
    main()
