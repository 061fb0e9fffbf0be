"""A private PostgreSQL, started by the test and stopped under load: every surface
answers 503 ``REGISTRY_UNAVAILABLE`` with ``Retry-After`` while it is down (never a 500),
what the data plane holds in memory is still served, the log says it twice (when the
outage starts and when it ends) without a traceback or a parameter, and everything
works again by itself once the database is back."""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, server

pytestmark = pytest.mark.slow
MARKER = "config-value-that-must-never-be-logged"


def as_postgres(*command: str, check: bool = True) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command], check=check, capture_output=True, timeout=120
    )


@dataclass
class Postgres:
    folder: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str, check: bool = True) -> None:
        as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder), *args, check=check)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self.ctl("-l", str(self.folder / "log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "-w", "stop")


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL's server binaries are not installed here")
    top = Path(tempfile.mkdtemp(prefix="roost-pg-"))  # the postgres user must reach it
    top.chmod(0o755)
    folder = top / "data"
    subprocess.run(["install", "-d", "-o", "postgres", str(folder)], check=True)
    bin_dir = Path(found[-1]).parent
    as_postgres(str(bin_dir / "initdb"), "-D", str(folder), "-A", "trust", "-U", "postgres")
    database = Postgres(folder, free_port(), bin_dir)
    database.start()
    try:
        yield database
    finally:
        database.ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(top, ignore_errors=True)


@dataclass
class Load:
    """Requests of every kind, in a loop, with what each got."""

    base: str
    seen: list[tuple[str, int, str, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        tenants = 0
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self.stop.is_set():
                tenants += 1
                known = {"X-Instance-ID": "known"}
                fresh = {"X-Instance-ID": f"fresh-{tenants}"}  # its first touch creates it
                for kind, method, path, extra in (
                    ("read", "GET", "/v1/instances/known", {}),
                    ("list", "GET", "/v1/events", {}),
                    ("write", "PUT", "/v1/instances/known/config", {"json": {"m": MARKER}}),
                    ("cache", "GET", "/v1/cache/k", {"headers": known}),
                    ("touch", "PUT", "/v1/cache/k", {"content": b"v", "headers": fresh}),
                    ("metrics", "GET", "/metrics", {}),
                ):
                    response = http.request(method, path, **extra)
                    self.seen.append(
                        (
                            kind,
                            response.status_code,
                            response.headers.get("content-type", ""),
                            response.headers.get("retry-after"),
                        )
                    )
                time.sleep(0.02)


def test_a_registry_that_goes_away_is_503_and_comes_back_by_itself(
    postgres: Postgres, tmp_path: Path
) -> None:
    port = free_port()
    home = tmp_path / "home"
    with server(home, port, "--database-url", postgres.url, ROOST_METRICS_INTERVAL="1"):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            created = http.post("/v1/instances", json={"instance_id": "known"})
            assert created.status_code == 201, created.text
            put = http.put("/v1/cache/k", content=b"held", headers={"X-Instance-ID": "known"})
            assert put.status_code == 204
        load = Load(base)
        worker = threading.Thread(target=load.run)
        worker.start()
        try:
            time.sleep(1)
            before = len(load.seen)
            postgres.stop()
            time.sleep(4)
            during = len(load.seen)
            postgres.start()
            back = time.time()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.5)
                recent = load.seen[-10:]
                if len(load.seen) > during + 10 and all(s < 300 for _, s, _, _ in recent):
                    break
            time.sleep(2)
            with httpx.Client(base_url=base, timeout=30) as http:
                found = http.get("/v1/instances/known/metrics", params={"since": "1m"}).json()
        finally:
            load.stop.set()
            worker.join(timeout=60)
    outage = load.seen[before:during]
    assert outage, "no request was made while the database was down"
    assert all(c.startswith("application/json") for _, s, c, _ in load.seen if s >= 400)
    assert {status for _, status, _, _ in load.seen} <= {200, 201, 204, 503}
    refused = [(kind, retry) for kind, status, _, retry in load.seen if status == 503]
    assert {kind for kind, _ in refused} >= {"read", "list", "write", "touch"}
    assert all(retry == "5" for _, retry in refused), refused
    assert all(status == 200 for kind, status, _, _ in load.seen if kind == "cache"), (
        "what the data plane holds is served while the registry is away"
    )
    assert all(status < 300 for _, status, _, _ in load.seen[-10:]), "it came back by itself"
    assert all(status == 200 for kind, status, _, _ in load.seen if kind == "metrics"), (
        "/metrics serves the last samples while the registry is away"
    )
    keys = found["series"]["cache_keys"]
    assert any(t + 1 >= back for t, _ in keys), "the sampler went on after the outage"

    log = (tmp_path / f"serve-{port}.log").read_text()
    assert log.count("cannot be reached") == 1 and log.count("answers again") == 1, log[-3000:]
    assert "Traceback" not in log
    assert MARKER not in log
