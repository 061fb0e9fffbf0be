"""The dashboard's pages with 1,000 instances, next to the JSON route in the same loop.

In one process (a context on a SQLite home, no background jobs), ``--instances``
(default 1,000) bare instances with tags, then, interleaved each round, through the
ASGI app (server time: no network):

- ``GET /v1/instances?limit=100`` (the baseline),
- ``GET /`` (the first page of 100),
- ``GET /?state=active&tag=eu&q=i`` (a filtered page),
- ``GET /instances/{id}`` (one instance's page).

It prints p50 and p99 of each, and each page's p50 and p99 over the JSON route's.
Targets: each page within 2x the JSON route and under 100 ms p99.

    uv run python -m benchmarks.dashboard --instances 1000 --requests 300
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import percentile
from roost.api.app import create_app
from roost.auth import LOCAL_ACTOR
from roost.composition import open_context
from roost.services.create import CreateRequest, create_instance
from roost.settings import Settings, sqlite_url

ROUTES = {
    "GET /v1/instances?limit=100": "/v1/instances?limit=100",
    "GET / (first 100)": "/",
    "GET /?state&tag&q (filtered)": "/?state=active&tag=eu&q=i",
    "GET /instances/{id}": "/instances/i0500",
}


async def run(args: argparse.Namespace, home: Path) -> None:
    settings = Settings(home=home, database_url=sqlite_url(home / "roost.db"))
    ctx = await open_context(settings, jobs=())
    try:
        for n in range(args.instances):
            tags = ("eu",) if n % 3 == 0 else ("us",)
            await create_instance(
                ctx, LOCAL_ACTOR, CreateRequest(instance_id=f"i{n:04}", tags=tags)
            )
        app = create_app(context=ctx)
        transport = httpx.ASGITransport(app=app)
        times: dict[str, list[float]] = {name: [] for name in ROUTES}
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            for path in ROUTES.values():  # warm
                assert (await http.get(path)).status_code == 200, path
            for _ in range(args.requests):
                for name, path in ROUTES.items():
                    began = time.perf_counter()
                    answer = await http.get(path)
                    times[name].append(time.perf_counter() - began)
                    assert answer.status_code == 200
        base = times["GET /v1/instances?limit=100"]
        print(f"{args.instances} instances, {args.requests} requests each, server time:")
        for name, samples in times.items():
            p50, p99 = statistics.median(samples), percentile(samples, 99)
            ratio = (
                ""
                if samples is base
                else (
                    f"  x{p50 / statistics.median(base):.2f} p50, x{p99 / percentile(base, 99):.2f} p99"
                )
            )
            print(f"  {name:32} p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms{ratio}")
        print("targets: each page within 2x the JSON route, p99 under 100 ms")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args, Path(folder)))


if __name__ == "__main__":
    main()
