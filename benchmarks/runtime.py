"""``roost up all`` on N instances of a tiny HTTP service, next to bare Popen.

Both sides run the same command (a small Python TCP server); the baseline spawns the N
processes with ``subprocess.Popen`` at once and waits until every port accepts. roost
runs as a real ``roost serve`` (SQLite home), timed twice: the start requests ``up all``
makes, sent straight to the API (16 at a time), and the CLI's ``roost up all`` from
the user's side (with its own interpreter start) until it returns, all ``active``. Then the server
idles for ``--idle`` seconds: its CPU use over that time and its RSS are printed.

    uv run python -m benchmarks.runtime --count 100 --idle 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.common import roost_server
from roost.settings import sqlite_url

SERVICE = (
    "import os, socket\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(os.environ['PORT'])))\n"
    "s.listen()\n"
    "while True:\n"
    "    s.accept()[0].close()\n"
)


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def bare(ports: list[int]) -> float:
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-S", "-c", SERVICE],
            env={**os.environ, "PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for port in ports
    ]
    waiting = set(ports)
    while waiting:
        waiting = {port for port in waiting if not accepting(port)}
        if waiting:
            time.sleep(0.01)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.kill()
        process.wait()
    return elapsed


async def start_all_through_the_api(url: str, count: int) -> float:
    """What ``up all`` asks of the server, without the CLI's own start: the same
    requests, 16 at a time."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        gate = asyncio.Semaphore(16)

        async def start(index: int) -> None:
            async with gate:
                response = await client.post(f"/v1/instances/i{index}/start")
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(start(index) for index in range(count)))
        return time.perf_counter() - started


def server_pid(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    for connection in psutil.net_connections("tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == "LISTEN":
            assert connection.pid is not None
            return int(connection.pid)
    raise RuntimeError("cannot find the server process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        with roost_server(home, sqlite_url(home / "roost.db"), "--stop-on-exit") as url:
            http = httpx.Client(base_url=url, timeout=120)
            spec = {
                "name": "tiny",
                "version": "1",
                "ports": {"http": "auto"},
                "services": {
                    "web": {"command": [sys.executable, "-S", "-c", SERVICE], "ports": ["http"]}
                },
            }
            http.post("/v1/apps", json=spec, params={"default": "true"}).raise_for_status()
            ports = []
            for index in range(args.count):
                created = http.post("/v1/instances", json={"instance_id": f"i{index}"})
                created.raise_for_status()
                ports.append(created.json()["ports"]["http"])
            baseline_ports = [port + 5000 for port in ports]

            baseline = bare(baseline_ports)
            server = psutil.Process(server_pid(url))
            cpu_before = sum(server.cpu_times()[:2])
            api_time = asyncio.run(start_all_through_the_api(url, args.count))
            start_cpu = sum(server.cpu_times()[:2]) - cpu_before
            subprocess.run(
                [sys.executable, "-m", "roost", "--url", url, "down", "all"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "roost", "--url", url, "up", "all"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            roost_time = time.perf_counter() - started
            states = {
                i["state"]
                for i in http.get("/v1/instances", params={"limit": 1000}).json()["instances"]
            }
            assert states == {"active"}, states
            closed = [port for port in ports if not accepting(port)]
            if closed:
                listing = http.get("/v1/instances/i0/services").json()
                raise SystemExit(f"not accepting: {closed[:10]} ({len(closed)}); i0: {listing}")

            before = server.cpu_times()
            time.sleep(args.idle)
            after = server.cpu_times()
            cpu = (after.user + after.system - before.user - before.system) / args.idle * 100
            rss = server.memory_info().rss / 1024 / 1024
            subprocess.run(
                [sys.executable, "-m", "roost", "--url", url, "down", "all"],
                check=True,
                stdout=subprocess.DEVNULL,
            )

    print(f"{args.count} instances of a tiny TCP service")
    print(f"bare Popen, all ports accepting:   {baseline:.2f} s")
    print(f"roost through the API, all active: {api_time:.2f} s")
    print(f"ratio API / bare:                  {api_time / baseline:.2f} (target <= 1.5)")
    print(f"  roost serve's own CPU for those starts: {start_cpu:.2f} s")
    print(f"roost up all (the CLI), all active: {roost_time:.2f} s")
    print(f"ratio CLI / bare:                  {roost_time / baseline:.2f}")
    print(f"roost serve idle CPU over {args.idle:g} s:  {cpu:.2f}% of one core (target < 1%)")
    print(f"roost serve RSS with {args.count} running: {rss:.0f} MB (target < 150 MB)")


if __name__ == "__main__":
    main()
