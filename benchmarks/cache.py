"""Data plane throughput: roost's /v1/cache against the ceiling of a Python HTTP service.

In one run, each measured with wrk (64 connections, 2 threads, same machine):
  (a) a bare Starlette route returning a fixed 100-byte body, served as roost is served;
  (b) roost GET of 100-byte values over 10,000 keys in 10 instances;
  (c) roost PUT of 100-byte values;
  (d) roost batch get of 100 keys;
for the embedded backend and for Redis; and ``redis-benchmark -t get,set -d 100``
against the same Redis as the physical reference. Prints req/s, p50, p99, and each
roost figure as a ratio to (a).

Targets (issue 3): embedded GET >= 0.8x (a), PUT >= 0.6x, p99 <= 2x (a)'s;
Redis backend GET >= 0.4x (a).

And (issue 11) the same GET on a server that checks a bearer token on every request (a
user's owner token), against the same server without auth, alternated over
``--rounds``: target >= 0.9x.

    uv run python -m benchmarks.cache [--seconds 10] [--backends embedded,redis] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks.common import free_port

WRK_DIR = Path(__file__).parent / "wrk"
REDIS_URL = os.environ.get("ROOST_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CONNECTIONS = 64
THREADS = 2


@dataclass
class Run:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(url: str, script: str, seconds: int, env: dict[str, str] | None = None) -> Run:
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "-s",
        str(WRK_DIR / script),
        url,
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "WRK_DIR": str(WRK_DIR), **(env or {})},
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        rate=figures["requests"] / figures["seconds"],
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        errors=figures["errors"] + figures["bad_status"],
    )


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{process.args!r} did not start") from None
            time.sleep(0.1)


@contextmanager
def process(command: list[str], url: str, env: dict[str, str]) -> Iterator[None]:
    started = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        wait_for(url, started)
        yield
    finally:
        started.terminate()
        started.wait(timeout=30)


def preload(url: str, token: str | None = None) -> None:
    value = "v" * 100
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
        for instance in range(10):
            entries = {f"key-{n}": value for n in range(1000)}
            response = http.post(
                "/v1/cache/batch/set",
                headers={"X-Instance-ID": f"bench-{instance}"},
                json={"entries": entries},
            )
            response.raise_for_status()


def bench_roost(backend: str, seconds: int) -> dict[str, Run]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as folder:
        env = {"ROOST_HOME": folder, "ROOST_CACHE_BACKEND": backend}
        env.pop("ROOST_DATABASE_URL", None)
        command = [sys.executable, "-m", "roost", "serve", "--port", str(port)]
        with process(command, f"{url}/health", env):
            preload(url)
            return {
                "GET": wrk(url, "get.lua", seconds),
                "PUT": wrk(url, "put.lua", seconds),
                "batch get 100": wrk(url, "batch.lua", seconds),
            }


def bench_tokens(seconds: int, rounds: int) -> list[tuple[Run, Run]]:
    """GET without auth and with a token checked on every request, alternated: a pair of
    runs per round."""
    off_port, on_port = free_port(), free_port()
    off, on = f"http://127.0.0.1:{off_port}", f"http://127.0.0.1:{on_port}"
    admin = f"bench-admin-{uuid.uuid4().hex}"
    with (
        tempfile.TemporaryDirectory(prefix="roost-bench-") as off_home,
        tempfile.TemporaryDirectory(prefix="roost-bench-") as on_home,
    ):
        serve = [sys.executable, "-m", "roost", "serve", "--port"]
        with (
            process(
                [*serve, str(off_port), "--auth", "off"], f"{off}/health", {"ROOST_HOME": off_home}
            ),
            process(
                [*serve, str(on_port), "--auth", "on"],
                f"{on}/health",
                {"ROOST_HOME": on_home, "ROOST_BOOTSTRAP_TOKEN": admin},
            ),
        ):
            with httpx.Client(base_url=on, headers={"Authorization": f"Bearer {admin}"}) as http:
                http.post("/v1/users", json={"name": "bench"}).raise_for_status()
                made = http.post("/v1/tokens", json={"role": "owner", "user": "bench"})
                token = made.raise_for_status().json()["token"]
            preload(off)
            preload(on, token)  # the instances are the user's: its role is checked
            pairs = []
            for _ in range(rounds):
                plain = wrk(off, "get.lua", seconds)
                checked = wrk(on, "get_token.lua", seconds, {"ROOST_BENCH_TOKEN": token})
                pairs.append((plain, checked))
            return pairs


def bench_ceiling(seconds: int) -> Run:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(
        [sys.executable, "-m", "benchmarks.bare_app", "--port", str(port)], f"{url}/fixed", {}
    ):
        return wrk(f"{url}/fixed", "fixed.lua", seconds)


def redis_benchmark() -> dict[str, float]:
    host_port = REDIS_URL.split("://", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    done = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            host,
            "-p",
            port or "6379",
            "-t",
            "get,set",
            "-d",
            "100",
            "-c",
            str(CONNECTIONS),
            "-n",
            "200000",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rates = {}
    for line in done.stdout.replace("\r", "\n").splitlines():
        match = re.match(r"^(GET|SET): ([\d.]+) requests per second", line.strip())
        if match:
            rates[match.group(1)] = float(match.group(2))
    return rates


def show(label: str, run: Run, ceiling: Run) -> None:
    print(
        f"  {label:<26} {run.rate:9.0f} req/s  {run.rate / ceiling.rate:5.2f}x"
        f"   p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms ({run.p99_ms / ceiling.p99_ms:4.2f}x)"
        + (f"  {run.errors} errors" if run.errors else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", default="embedded,redis")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk); scripts/bench installs it")
    print(
        f"data plane benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, wrk -t{THREADS} -c{CONNECTIONS}"
    )
    ceiling = bench_ceiling(args.seconds)
    print(
        f"(a) bare Starlette route, fixed 100 bytes: {ceiling.rate:.0f} req/s, p50 {ceiling.p50_ms:.2f} ms, p99 {ceiling.p99_ms:.2f} ms"
    )
    for backend in args.backends.split(","):
        setting = (
            "embedded"
            if backend == "embedded"
            else f"{REDIS_URL}/0?prefix=bench-{uuid.uuid4().hex[:8]}"
        )
        print(f"roost, {backend} backend (ratio to (a)):")
        for label, run in bench_roost(setting, args.seconds).items():
            show(label, run, ceiling)
    print("a bearer token checked on every GET, embedded backend (ratio to no auth):")
    pairs = bench_tokens(args.seconds, args.rounds)
    for plain, checked in pairs:
        print(
            f"  no auth {plain.rate:9.0f} req/s   token {checked.rate:9.0f} req/s"
            f"   {checked.rate / plain.rate:4.2f}x"
            + (f"  {checked.errors} errors" if checked.errors else "")
        )
    ratios = sorted(checked.rate / plain.rate for plain, checked in pairs)
    print(f"  median ratio {ratios[len(ratios) // 2]:.2f} (target >= 0.9)")
    if shutil.which("redis-benchmark"):
        rates = redis_benchmark()
        print(
            f"redis-benchmark -d 100 -c {CONNECTIONS}: "
            + ", ".join(f"{k} {v:.0f} req/s" for k, v in rates.items())
        )


if __name__ == "__main__":
    main()
