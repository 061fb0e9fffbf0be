"""The local supervisor with real processes: start order and readiness, stop without
orphans, crash and restart with backoff, the start limit, start failures."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from roost.runtime.errors import StartFailed
from roost.runtime.plan import ServicePlan
from roost.runtime.policy import RestartBook
from roost.runtime.protocol import ServiceChange, ServiceExit
from roost.runtime.readiness import listening
from roost.runtime.runs import Status
from roost.runtime.supervisor import LocalSupervisor
from tests.servers import free_port

pytestmark = pytest.mark.slow

SERVE = textwrap.dedent(
    """
    import http.server, os, sys
    print("serving", os.environ["PORT"], flush=True)
    http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])),
                           http.server.SimpleHTTPRequestHandler).serve_forever()
    """
)


def plan(tmp_path: Path, service: str, argv: list[str], **extra: Any) -> ServicePlan:
    port = extra.pop("port", None)
    env = {"PATH": os.environ["PATH"], **({"PORT": str(port)} if port else {})}
    return ServicePlan(
        instance_id="i1",
        service=service,
        argv=tuple(argv),
        cwd=tmp_path,
        log=tmp_path / "logs" / f"{service}.log",
        env=env,
        ports=(port,) if port else (),
        **extra,
    )


def gone(pid: int) -> bool:
    """Exited (an unreaped zombie counts as gone)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
async def failures() -> list[tuple[str, str]]:
    return []


class Failures:
    """A listener that keeps the instances given up, and nothing else."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures

    async def service_changed(self, change: ServiceChange) -> None:
        pass

    async def service_exited(self, exited: ServiceExit) -> None:
        pass

    async def instance_failed(self, instance_id: str, reason: str) -> None:
        self.failures.append((instance_id, reason))


@pytest.fixture
async def supervisor(failures: list[tuple[str, str]]) -> AsyncIterator[LocalSupervisor]:
    fast = LocalSupervisor(
        listener=Failures(failures), restart_book=lambda: RestartBook(first=0.05, maximum=0.2)
    )
    yield fast
    await fast.close(stop_all=True)


async def wait_for(condition: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_start_in_order_then_stop(supervisor: LocalSupervisor, tmp_path: Path) -> None:
    api, web = free_port(), free_port()
    # web refuses to start unless api already listens: the order is checked by the service
    needs_api = f"import socket; socket.create_connection(('127.0.0.1', {api}))\n" + SERVE
    plans = [
        plan(tmp_path, "api", python(SERVE), port=api),
        plan(tmp_path, "web", python(needs_api), port=web, depends_on=("api",)),
    ]
    await supervisor.start(plans)
    runs = supervisor.services("i1")
    assert [r.status for r in runs] == [Status.RUNNING, Status.RUNNING]
    assert await listening(api) and await listening(web)
    assert (tmp_path / "logs" / "web.log").read_text().startswith(f"serving {web}")
    pids = [r.spawned.pid for r in runs if r.spawned]
    assert all(os.getpgid(pid) == pid for pid in pids)  # each leads its own group
    await supervisor.stop("i1")
    assert [r.status for r in supervisor.services("i1")] == [Status.STOPPED, Status.STOPPED]
    assert not await listening(api) and not await listening(web)
    assert all(gone(pid) for pid in pids)


async def test_stop_leaves_no_orphan(supervisor: LocalSupervisor, tmp_path: Path) -> None:
    """Grandchildren in the group, and one that left it with setsid, all go."""
    script = tmp_path / "forks.sh"
    script.write_text("sleep 300 &\nsetsid sleep 301 &\nsh -c 'sleep 302' &\nwait\n")
    await supervisor.start([plan(tmp_path, "forker", ["sh", str(script)])])
    [run] = supervisor.services("i1")
    assert run.spawned is not None
    leader = psutil.Process(run.spawned.pid)
    await wait_for(lambda: len(leader.children(recursive=True)) >= 4)
    family = [leader, *leader.children(recursive=True)]
    await supervisor.stop("i1")
    assert [p.pid for p in family if not gone(p.pid)] == []


async def test_sigterm_ignored_means_sigkill_after_the_stop_timeout(
    supervisor: LocalSupervisor, tmp_path: Path
) -> None:
    stubborn = python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(300)"
    )
    await supervisor.start([plan(tmp_path, "stubborn", stubborn, stop_timeout=0.5)])
    await wait_for(lambda: (tmp_path / "logs" / "stubborn.log").read_text() == "up\n")
    started = asyncio.get_running_loop().time()
    await supervisor.stop("i1")
    assert 0.4 < asyncio.get_running_loop().time() - started < 5
    [run] = supervisor.services("i1")
    assert run.exit_code == -9


async def test_a_crash_is_restarted_with_backoff(
    supervisor: LocalSupervisor, tmp_path: Path, failures: list[tuple[str, str]]
) -> None:
    port = free_port()
    # the first run dies after it is up; the runs after it stay
    crash_once = (
        "import os, pathlib, sys\n"
        "marker = pathlib.Path('crashed')\n"
        "if not marker.exists():\n"
        "    marker.write_text('x')\n"
        "    import threading; threading.Timer(0.3, lambda: os._exit(3)).start()\n"
    ) + SERVE
    await supervisor.start([plan(tmp_path, "api", python(crash_once), port=port)])
    [run] = supervisor.services("i1")
    first = run.spawned.pid if run.spawned else 0
    await wait_for(lambda: run.restarts == 1 and run.status is Status.RUNNING)
    assert run.spawned is not None and run.spawned.pid != first
    await wait_for(lambda: gone(first))
    await wait_for(lambda: (tmp_path / "logs" / "api.log").read_text().count("serving") == 2)
    assert failures == []


async def test_the_start_limit_gives_up_with_the_exit_code_and_the_log(
    supervisor: LocalSupervisor, tmp_path: Path, failures: list[tuple[str, str]]
) -> None:
    port = free_port()
    # up, then exits 3 a moment later, every time
    flaky = (
        "import threading, os; threading.Timer(0.2, lambda: (print('boom', flush=True), os._exit(3))).start()\n"
        + SERVE
    )
    await supervisor.start([plan(tmp_path, "api", python(flaky), port=port)])
    await wait_for(lambda: failures != [], within=30)
    [(instance_id, reason)] = failures
    assert instance_id == "i1"
    assert "api@i1 exited with code 3, 5 failures in 60 s: giving up" in reason
    assert "boom" in reason
    [run] = supervisor.services("i1")
    assert run.status is Status.FAILED and run.restarts == 4


async def test_policy_no_and_a_clean_exit_is_just_exited(
    supervisor: LocalSupervisor, tmp_path: Path, failures: list[tuple[str, str]]
) -> None:
    once = python("import time; time.sleep(0.3)")
    await supervisor.start([plan(tmp_path, "job", once, restart="no")])
    [run] = supervisor.services("i1")
    await wait_for(lambda: run.status is Status.EXITED)
    assert run.exit_code == 0 and run.restarts == 0 and failures == []


async def test_a_service_that_dies_while_starting_fails_the_start(
    supervisor: LocalSupervisor, tmp_path: Path
) -> None:
    ok_port = free_port()
    plans = [
        plan(tmp_path, "api", python(SERVE), port=ok_port),
        plan(
            tmp_path,
            "broken",
            python("print('missing config'); raise SystemExit(2)"),
            port=free_port(),
        ),
    ]
    with pytest.raises(StartFailed) as raised:
        await supervisor.start(plans)
    assert "broken@i1 exited with code 2 while starting" in raised.value.message
    assert "missing config" in raised.value.message
    assert not await listening(ok_port)  # what started is stopped again


async def test_a_service_that_never_listens_times_out(
    supervisor: LocalSupervisor, tmp_path: Path
) -> None:
    port = free_port()
    silent = plan(
        tmp_path, "mute", python("import time; time.sleep(300)"), port=port, start_timeout=0.5
    )
    with pytest.raises(StartFailed) as raised:
        await supervisor.start([silent])
    assert raised.value.code == "START_TIMEOUT"
    assert f"port {port} to listen" in raised.value.message
    [run] = supervisor.services("i1")
    assert run.spawned is not None and gone(run.spawned.pid)


async def test_a_missing_executable_is_a_clear_error(
    supervisor: LocalSupervisor, tmp_path: Path
) -> None:
    with pytest.raises(StartFailed) as raised:
        await supervisor.start([plan(tmp_path, "ghost", ["/nonexistent/bin/server"])])
    assert "cannot start '/nonexistent/bin/server'" in raised.value.message
