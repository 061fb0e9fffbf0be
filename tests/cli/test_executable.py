"""The real ``roost`` executable in a temporary home: background start, one server per home."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from roost.cache.backend import Limits
from roost.cache.embedded import LOG_NAME, EmbeddedStore
from roost.home import Home
from tests.servers import free_port, server

ROOST = str(Path(sys.executable).with_name("roost"))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {
        **os.environ,
        "ROOST_HOME": str(tmp_path / "home"),
        "ROOST_URL": f"http://127.0.0.1:{free_port()}",
    }
    environment.pop("ROOST_DATABASE_URL", None)
    yield environment
    subprocess.run([ROOST, "shutdown"], env=environment, capture_output=True, timeout=30)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ROOST, *args], env=env, capture_output=True, text=True, timeout=60)


def test_first_command_starts_a_background_server_that_outlives_it(env: dict[str, str]) -> None:
    created = run(env, "create", "1", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["instance_id"] == "1"
    assert created.stderr.count("started roost server") == 1
    home = Home(Path(env["ROOST_HOME"]))
    pid = home.server_pid()
    assert pid is not None
    listed = run(env, "list", "--json")
    assert listed.returncode == 0
    assert "started" not in listed.stderr  # the same server answered
    assert [i["instance_id"] for i in json.loads(listed.stdout)] == ["1"]
    assert home.server_pid() == pid
    stopped = run(env, "shutdown")
    assert f"stopped server (pid {pid})" in stopped.stdout
    assert home.server_pid() is None


def test_concurrent_commands_start_exactly_one_server(env: dict[str, str]) -> None:
    processes = [
        subprocess.Popen(
            [ROOST, "list", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert all(process.returncode == 0 for process in processes), results
    assert sum(stderr.count("started roost server") for _, stderr in results) == 1


def test_a_second_server_for_the_same_home_is_refused(env: dict[str, str]) -> None:
    assert run(env, "list").returncode == 0  # starts the background server
    second = run(env, "serve", "--port", str(free_port()))
    assert second.returncode == 1
    assert second.stderr.strip().count("\n") == 0
    assert "SERVER_RUNNING" in second.stderr


def test_detach_returns_once_the_server_answers(env: dict[str, str]) -> None:
    port = env["ROOST_URL"].rsplit(":", 1)[1]
    detached = run(env, "serve", "--detach", "--port", port)
    assert detached.returncode == 0, detached.stderr
    assert "roost server running at" in detached.stdout
    again = run(env, "serve", "--detach", "--port", port)
    assert again.returncode == 1
    assert "SERVER_RUNNING" in again.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_seed_000_workflow_1_with_curl(env: dict[str, str]) -> None:
    assert run(env, "list").returncode == 0
    base = env["ROOST_URL"]

    def curl(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            ["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stdout + done.stderr
        body: dict[str, Any] = json.loads(done.stdout)
        return body

    register = [
        "-X",
        "POST",
        f"{base}/api/instance/register",
        "-H",
        "Content-Type: application/json",
    ]
    v1 = curl(
        *register,
        "-d",
        '{"product_id": "my-product", "version": "1.0.0", "lcc_url": "http://localhost:7086"}',
    )
    v2 = curl(
        *register,
        "-d",
        '{"product_id": "my-product", "version": "2.0.0", "lcc_url": "http://localhost:7086"}',
    )
    assert len(curl(f"{base}/api/instances")["instances"]) == 2
    tested = curl(
        "-X",
        "POST",
        f"{base}/api/instance/test",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"product_id": "my-product", "feature_id": "feature-x"}',
    )
    assert tested["instance_id"] == v1["instance_id"]
    curl(
        "-X",
        "POST",
        f"{base}/api/instance/clear",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"product_id": "my-product", "instance_id": v2["instance_id"]}),
    )
    remaining = curl(f"{base}/api/instances")["instances"]
    assert [i["instance_id"] for i in remaining] == [v1["instance_id"]]


def test_an_unreachable_registry_is_one_clear_line(env: dict[str, str]) -> None:
    bad = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
    served = run(env, "serve", "--port", str(free_port()), "--database-url", bad)
    assert served.returncode == 1
    assert served.stderr.strip().startswith("error: cannot open the registry")
    assert served.stderr.strip().endswith("(REGISTRY_UNAVAILABLE)")
    assert "\n" not in served.stderr.strip()
    started = run(env, "list", "--database-url", bad)  # the background start fails the same way
    assert started.returncode == 1
    assert "REGISTRY_UNAVAILABLE" in started.stderr
    assert "\n" not in started.stderr.strip()


def test_usage_errors_are_one_line_too(env: dict[str, str]) -> None:
    for args in (["nosuch"], ["create", "--bogus"], ["cache", "get", "k"]):
        done = run(env, *args)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("error: ") and done.stderr.strip().endswith("(USAGE_ERROR)")


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone: nothing here reaps the server's orphans)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def cwd_of(process: psutil.Process) -> str | None:
    try:
        return str(process.cwd())
    except psutil.Error:
        return None


def test_services_outlive_a_killed_server_and_the_next_one_adopts_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    """SIGKILL the real server: its services keep running; the next server adopts them
    (same pids, nothing started twice) and supervises them (a crash is restarted)."""
    port = free_port()
    service = (
        "import http.server, os\n"
        "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])),"
        " http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    (tmp_path / "serve.py").write_text(service)
    spec = tmp_path / "roost.toml"
    spec.write_text(
        f"[apps.web]\nports = {{ http = {port} }}\nport_stride = 1\n"
        f'files = {{ "serve.py" = "serve.py" }}\n'
        f'[apps.web.services.http]\ncommand = [{json.dumps(sys.executable)}, "serve.py"]\n'
        'restart = "always"\n'
    )
    assert run(env, "apps", "add", str(spec)).returncode == 0
    assert run(env, "up", "0").stdout.strip() == "0: active"
    [before] = json.loads(run(env, "status", "0", "--json").stdout)[0]["services"]
    home = Home(Path(env["ROOST_HOME"]))
    server = home.server_pid()
    assert server is not None
    os.kill(server, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(server):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert alive(before["pid"])  # the service did not go with its server

    after = json.loads(run(env, "status", "0", "--json").stdout)[0]  # starts a new server
    assert after["state"] == "active"
    [adopted] = after["services"]
    assert adopted["pid"] == before["pid"] and adopted["status"] == "running"
    instance_dir = str(Path(env["ROOST_HOME"]) / "instances" / "0")
    copies = [p.pid for p in psutil.process_iter() if alive(p.pid) and cwd_of(p) == instance_dir]
    assert copies == [before["pid"]]  # not started twice
    os.kill(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:
        [now] = json.loads(run(env, "status", "0", "--json").stdout)[0]["services"]
        if now["pid"] not in (None, before["pid"]) and now["status"] == "running":
            break
        assert time.monotonic() < deadline, now
        time.sleep(0.1)
    assert now["restarts"] == 1
    assert run(env, "down", "0").returncode == 0


def test_stop_on_exit_stops_the_services_when_the_server_is_told_to_stop(
    env: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM (roost shutdown) lets the server close properly: with --stop-on-exit its
    services stop with it."""
    (tmp_path / "idle.py").write_text("import time\ntime.sleep(300)\n")
    spec = tmp_path / "roost.toml"
    spec.write_text(
        '[apps.job]\nfiles = { "idle.py" = "idle.py" }\n'
        f'[apps.job.services.idle]\ncommand = [{json.dumps(sys.executable)}, "idle.py"]\n'
    )
    port = env["ROOST_URL"].rsplit(":", 1)[1]
    assert run(env, "serve", "--detach", "--port", port, "--stop-on-exit").returncode == 0
    assert run(env, "apps", "add", str(spec)).returncode == 0
    assert run(env, "up", "1").stdout.strip() == "1: active"
    [service] = json.loads(run(env, "status", "1", "--json").stdout)[0]["services"]
    assert alive(service["pid"])
    assert run(env, "shutdown").returncode == 0
    deadline = time.monotonic() + 10
    while alive(service["pid"]):
        assert time.monotonic() < deadline, "the service outlived a --stop-on-exit server"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        (["--url", "http://[::1"], "INVALID_URL"),
        (["--url", "ftp://example.org"], "INVALID_URL"),
        (["--url", "http://127.0.0.1:99999"], "INVALID_URL"),
        (["--home", "{file}"], "HOME_UNUSABLE"),
        (["--home", "{file}/under"], "HOME_UNUSABLE"),
        (["--home", "/proc/1/not-a-home"], "HOME_UNUSABLE"),
    ],
)
def test_a_bad_url_or_home_is_one_line_and_exit_1(
    env: dict[str, str], tmp_path: Path, flags: list[str], code: str
) -> None:
    file = tmp_path / "a-file"
    file.write_text("")
    result = run(env, *[f.format(file=file) for f in flags], "list")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith(f"({code})")
    assert "Traceback" not in result.stderr


def test_cache_check_reports_damage_in_a_stopped_home(env: dict[str, str], tmp_path: Path) -> None:
    async def fill() -> None:
        store = EmbeddedStore(tmp_path / "home" / "cache")
        for n in range(5):
            await store.put("tenant-1", f"key-{n}", f"value number {n}".encode(), None, roomy)
        await store.close()

    roomy = Limits(max_bytes=10**9, max_keys=10**6)
    asyncio.run(fill())
    clean = run(env, "cache", "check")
    assert (
        clean.returncode == 0 and "5 good records" in clean.stdout and "no damage" in clean.stdout
    )
    log = tmp_path / "home" / "cache" / LOG_NAME
    data = bytearray(log.read_bytes())
    data[data.index(b"value number 3")] ^= 0x01
    log.write_bytes(bytes(data) + b"\x00garbage that is no record at all, appended")
    damaged = run(env, "cache", "check", "--json")
    assert damaged.returncode == 1, damaged.stderr
    report = json.loads(damaged.stdout)
    assert report["records"] == 4
    assert [d["keys"] for d in report["damaged"]] == [
        [{"instance_id": "tenant-1", "key": "key-3"}],
        [],
    ]
    assert log.read_bytes() == bytes(data) + b"\x00garbage that is no record at all, appended"
    assert "key-3" in run(env, "cache", "check").stdout
    assert run(env, "status", "all").returncode == 0  # starts the home's server
    running = run(env, "cache", "check")
    assert running.returncode == 1 and "(SERVER_RUNNING)" in running.stderr


def test_the_cli_refuses_a_local_server_of_another_home(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    url = f"http://127.0.0.1:{port}"
    with server(tmp_path / "one", port):
        theirs = subprocess.run(
            [ROOST, "--home", str(tmp_path / "two"), "--url", url, "list"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert theirs.returncode == 1
        assert theirs.stderr.strip().endswith("(HOME_MISMATCH)")
        assert len(theirs.stderr.strip().splitlines()) == 1
        assert str(tmp_path / "two") in theirs.stderr
        ours = subprocess.run(
            [ROOST, "--home", str(tmp_path / "one"), "--url", url, "list"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ours.returncode == 0 and ours.stdout.strip() == "no instances", ours.stderr
