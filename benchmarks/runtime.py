"""``roost up all`` on N instances of a tiny TCP service, next to bare Popen.

Both sides run the same command (a small Python TCP server); the baseline spawns the N
processes with ``subprocess.Popen`` at once and waits until every port accepts. roost
runs as a real ``roost serve`` (SQLite home). Each round times, one after the other on
the same machine: the baseline; the one request ``up all`` sends
(``POST /v1/instances/start`` with every id, until its stream says all are ``active``);
and the CLI's ``roost up all`` from the user's side, its own interpreter start included.
Medians over ``--rounds`` rounds are printed with their ratios. Then the server idles
for ``--idle`` seconds with all N running: its CPU use over that time and its RSS.

The figures are CPU-bound on small machines: the services need most of it, and what
roost adds (the server's own work per start, and the CLI's start) shows in the ratios.

    uv run python -m benchmarks.runtime --count 100 --rounds 5 --idle 30
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.common import roost_server
from roost.settings import sqlite_url

SETTLE = 1.0
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


def start_all_through_the_api(http: httpx.Client, ids: list[str]) -> float:
    """What ``up all`` asks of the server, without the CLI's own start: one request."""
    started = time.perf_counter()
    with http.stream("POST", "/v1/instances/start", json={"instance_ids": ids}) as response:
        response.raise_for_status()
        failed = [line for line in response.iter_lines() if '"code"' in line]
    elapsed = time.perf_counter() - started
    if failed:
        raise SystemExit(f"{len(failed)} instances did not start: {failed[0]}")
    return elapsed


def cli(url: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "roost", "--url", url, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()

    bare_times: list[float] = []
    api_times: list[float] = []
    cli_times: list[float] = []
    server_cpu: list[float] = []
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
            ids = [f"i{index}" for index in range(args.count)]
            ports = []
            for instance_id in ids:
                created = http.post("/v1/instances", json={"instance_id": instance_id})
                created.raise_for_status()
                ports.append(created.json()["ports"]["http"])
            server = psutil.Process(server_pid(url))
            cli(url, "status", "i0")  # a first CLI start reads its files from disk: not timed
            for _ in range(args.rounds):
                # each timed start begins on a settled host: what the last stop set off
                # (processes torn down, the server's records of it) is done
                time.sleep(SETTLE)
                bare_times.append(bare([port + 5000 for port in ports]))
                time.sleep(SETTLE)
                cpu_before = sum(server.cpu_times()[:2])
                api_times.append(start_all_through_the_api(http, ids))
                server_cpu.append(sum(server.cpu_times()[:2]) - cpu_before)
                cli(url, "down", "all")
                time.sleep(SETTLE)
                cli_times.append(cli(url, "up", "all"))
                instances = http.get("/v1/instances", params={"limit": 1000}).json()["instances"]
                states = {instance["state"] for instance in instances}
                assert states == {"active"}, states
                closed = [port for port in ports if not accepting(port)]
                if closed:
                    raise SystemExit(f"not accepting: {closed[:10]} ({len(closed)})")
                cli(url, "down", "all")
            cli(url, "up", "all")
            before = server.cpu_times()
            time.sleep(args.idle)
            after = server.cpu_times()
            cpu = (after.user + after.system - before.user - before.system) / args.idle * 100
            rss = server.memory_info().rss / 1024 / 1024
            cli(url, "down", "all")

    baseline = statistics.median(bare_times)
    api = statistics.median(api_times)
    roost = statistics.median(cli_times)
    api_ratio = statistics.median(a / b for a, b in zip(api_times, bare_times, strict=True))
    cli_ratio = statistics.median(c / b for c, b in zip(cli_times, bare_times, strict=True))
    per_start = statistics.median(server_cpu) / args.count * 1000
    print(f"{args.count} instances of a tiny TCP service, median of {args.rounds} rounds")
    print(f"bare Popen, all ports accepting:     {baseline:.2f} s")
    print(f"roost, the request up all sends:     {api:.2f} s (ratio {api_ratio:.2f})")
    print(
        f"roost up all (the CLI), all active:  {roost:.2f} s (ratio {cli_ratio:.2f}, target <= 1.5)"
    )
    print(f"  roost serve's own CPU per start:   {per_start:.1f} ms")
    print(
        "  rounds, bare / API / CLI: "
        + "; ".join(
            f"{b:.2f} / {a:.2f} / {c:.2f}"
            for b, a, c in zip(bare_times, api_times, cli_times, strict=True)
        )
    )
    print(f"roost serve idle CPU over {args.idle:g} s:  {cpu:.2f}% of one core (target < 1%)")
    print(f"roost serve RSS with {args.count} running: {rss:.0f} MB (target < 150 MB)")


if __name__ == "__main__":
    main()
