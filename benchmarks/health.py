"""One sweep of health checks over many instances, next to bare asyncio connects.

The benchmark holds ``--count`` listening sockets on loopback. roost (a real
``roost serve``, SQLite home) runs ``--count`` instances of an app whose one service is a
sleeping process with a TCP probe on a fixed port of its own: instance N's probe points at
the benchmark's socket N. Each round times, one after the other: the baseline, asyncio
``sock_connect`` to every socket at once (what any TCP probe must do); and roost, one
``POST /v1/health-checks`` with every id (each instance's runtime state read, its probe
run, its health folded in, all outcomes recorded in one transaction, the JSON answer).
Medians over ``--rounds`` rounds, and roost's ratio to the baseline.

    uv run python -m benchmarks.health --count 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import roost_server
from roost.settings import sqlite_url

BASE = 12_000  # the benchmark's sockets: BASE + each instance's ordinal


def listeners(ports: list[int]) -> list[socket.socket]:
    held = []
    for port in ports:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(4096)
        held.append(listener)
    return held


async def bare_sweep(ports: list[int]) -> float:
    loop = asyncio.get_running_loop()

    async def connect(port: int) -> None:
        with socket.socket() as probe:
            probe.setblocking(False)
            async with asyncio.timeout(2):
                await loop.sock_connect(probe, ("127.0.0.1", port))

    started = time.perf_counter()
    await asyncio.gather(*(connect(port) for port in ports))
    return time.perf_counter() - started


def roost_sweep(http: httpx.Client, ids: list[str]) -> float:
    started = time.perf_counter()
    answer = http.post("/v1/health-checks", json={"instance_ids": ids})
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    sick = {i: r for i, r in answer.json()["results"].items() if r["health"] != "healthy"}
    if sick:
        raise SystemExit(f"{len(sick)} not healthy, for instance: {next(iter(sick.items()))}")
    return elapsed


def drain(held: list[socket.socket]) -> None:
    """Accept and close what the probes left in the listeners' queues."""
    for listener in held:
        listener.setblocking(False)
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bare_times: list[float] = []
    roost_times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        with roost_server(home, sqlite_url(home / "roost.db"), "--stop-on-exit") as url:
            http = httpx.Client(base_url=url, timeout=600)
            spec = {
                "name": "probed",
                "version": "1",
                "ports": {"probe": BASE},
                "port_stride": 1,
                "services": {
                    "sleeper": {
                        "command": ["sleep", "1000000"],
                        "ports": [],
                        "health": {"tcp": "probe", "interval": "1h"},
                    }
                },
            }
            http.post("/v1/apps", json=spec, params={"default": "true"}).raise_for_status()
            ids = [f"i{n}" for n in range(1, args.count + 1)]
            ports = []
            for instance_id in ids:
                created = http.post("/v1/instances", json={"instance_id": instance_id})
                created.raise_for_status()
                ports.append(created.json()["ports"]["probe"])
            held = listeners(ports)  # after the creates, which refuse ports in use
            started = time.perf_counter()
            with http.stream("POST", "/v1/instances/start", json={"instance_ids": ids}) as r:
                for _ in r.iter_lines():
                    pass
            print(f"{args.count} instances started in {time.perf_counter() - started:.1f} s")
            first = roost_sweep(http, ids)  # plans made and kept, first health events
            print(f"first sweep (probe plans made, {args.count} health events): {first:.3f} s")
            for _ in range(args.rounds):
                drain(held)
                bare_times.append(asyncio.run(bare_sweep(ports)))
                drain(held)
                roost_times.append(roost_sweep(http, ids))
            http.post("/v1/instances/stop", json={"instance_ids": ids}).read()
            for listener in held:
                listener.close()
    ratio = statistics.median(r / b for r, b in zip(roost_times, bare_times, strict=True))
    print(f"health sweep of {args.count} TCP probes, {args.rounds} rounds (medians):")
    print(f"  bare asyncio connects  {statistics.median(bare_times) * 1000:8.1f} ms")
    print(f"  roost POST /v1/health-checks {statistics.median(roost_times) * 1000:8.1f} ms")
    print(f"  ratio {ratio:.2f} (target <= 2, and under 2 s)")
    print(
        "  rounds (bare / roost, ms): "
        + ", ".join(
            f"{b * 1000:.0f}/{r * 1000:.0f}" for b, r in zip(bare_times, roost_times, strict=True)
        )
    )


if __name__ == "__main__":
    main()
