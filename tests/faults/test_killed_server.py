"""A server killed with SIGKILL in the middle of ``roost up all`` (before, during and
after its spawns): the next one leaves no process of the home that it does not hold, and
each instance's recorded state matches what runs (``active``: every service runs;
anything else: nothing does)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from roost.runtime.inventory import MARKER
from roost.runtime.local import cgroup_scope
from tests.servers import free_base, free_port, listener, server

pytestmark = pytest.mark.slow
INSTANCES = [f"i{n}" for n in range(6)]
SERVICE = listener(delay=0.15)  # a start takes long enough to be cut in the middle
SPEC = {
    "name": "pair",
    "version": "1",
    "ports": {"http": "auto"},
    "services": {
        "web": {"command": [sys.executable, "-S", "-c", SERVICE], "ports": ["http"]},
        "worker": {
            "command": [sys.executable, "-S", "-c", "import time; time.sleep(10**6)"],
            "depends_on": ["web"],
        },
    },
}


def start_all(port: int) -> None:
    with (
        contextlib.suppress(httpx.HTTPError),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
        http.stream("POST", "/v1/instances/start", json={"instance_ids": INSTANCES}) as stream,
    ):
        for _ in stream.iter_lines():
            pass


def home_processes(home: Path) -> dict[int, str]:
    """Every live process started for this home, with its marker (instance/service)."""
    prefix = cgroup_scope(home) + "/"
    found = {}
    for process in psutil.process_iter():
        try:
            mark = process.environ().get(MARKER, "")
            if mark.startswith(prefix) and process.status() != psutil.STATUS_ZOMBIE:
                found[process.pid] = mark[len(prefix) :]
        except psutil.Error:
            continue
    return found


def check_every_process_is_held(home: Path, http: httpx.Client) -> None:
    held: dict[str, set[int]] = {}
    for instance_id in INSTANCES:
        instance = http.get(f"/v1/instances/{instance_id}").json()
        services = http.get(f"/v1/instances/{instance_id}/services").json()["services"]
        pids = {s["pid"] for s in services if s["status"] == "running"}
        if instance["state"] == "active":
            assert len(pids) == 2, (instance_id, services)
            assert all(psutil.pid_exists(pid) for pid in pids)
        else:
            assert pids == set(), (instance_id, instance["state"], services)
        held[instance_id] = pids
    for pid, mark in home_processes(home).items():
        instance_id = mark.split("/")[0]
        assert pid in held.get(instance_id, set()), f"process {pid} ({mark}) is nobody's"


@pytest.mark.parametrize("kill_after", [0.05, 0.3, 0.8, 1.5, 4.0])
def test_a_server_killed_during_up_all_leaves_nothing_unowned(
    tmp_path: Path, kill_after: float
) -> None:
    home = tmp_path / "home"
    base = free_base()
    env = {"ROOST_PORT_RANGE": f"{base}-{base + 399}"}
    port = free_port()
    try:
        kill_during_up_all(home, port, env, kill_after)
        port = free_port()
        with (
            server(home, port, **env),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
        ):
            check_every_process_is_held(home, http)
            events = http.get("/v1/events", params={"limit": 1000}).json()["events"]
            reconciled = [e for e in events if e["action"] == "instance.reconciled"]
            for event in reconciled:  # what boot did is said per instance
                assert set(event["details"]) >= {"stopped", "missing", "adopted_unrecorded"}
            assert http.post("/v1/instances/stop", json={"instance_ids": INSTANCES}).is_success
    finally:
        for pid in home_processes(home):  # never leave a service behind, pass or fail
            os.kill(pid, signal.SIGKILL)
    assert home_processes(home) == {}


def kill_during_up_all(home: Path, port: int, env: dict[str, str], kill_after: float) -> None:
    with server(home, port, **env) as first:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            assert http.post("/v1/apps", json=SPEC, params={"default": "true"}).is_success
            for instance_id in INSTANCES:
                assert http.post("/v1/instances", json={"instance_id": instance_id}).is_success
        # the one request ``roost up all`` sends (the CLI would start a new server when
        # it finds this one gone, which is not what is tested here)
        up = threading.Thread(target=start_all, args=(port,))
        up.start()
        time.sleep(kill_after)
        first.send_signal(signal.SIGKILL)
        first.wait()
        up.join(timeout=60)


def test_the_cli_says_when_the_server_stops_answering_in_the_middle(tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = free_base()
    port = free_port()
    try:
        with server(home, port, ROOST_PORT_RANGE=f"{base}-{base + 399}") as serving:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                assert http.post("/v1/apps", json=SPEC, params={"default": "true"}).is_success
                for instance_id in INSTANCES:
                    assert http.post("/v1/instances", json={"instance_id": instance_id}).is_success
            up = subprocess.Popen(
                [sys.executable, "-m", "roost", "--url", f"http://127.0.0.1:{port}", "up", "all"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "ROOST_HOME": str(home)},
            )
            deadline = time.monotonic() + 30
            while not home_processes(home):  # the request is in: services are spawning
                assert time.monotonic() < deadline and up.poll() is None
                time.sleep(0.01)
            serving.send_signal(signal.SIGKILL)
            out, err = up.communicate(timeout=60)
    finally:
        for pid in home_processes(home):
            os.kill(pid, signal.SIGKILL)
    assert up.returncode == 1
    done = int(out.split("up: ")[1].split(" of ")[0])
    assert f"up: {done} of 6 succeeded" in out
    assert err.strip().endswith(f"{6 - done} of 6 outcomes unknown (INCOMPLETE)"), err
    assert err.count("no outcome: the server stopped answering") == 6 - done
