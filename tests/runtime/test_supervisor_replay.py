"""The supervisor's decisions, replayed: a scripted host and a clock that jumps instead of
waiting, so a crash loop of a minute runs in milliseconds. The same supervisor drives
real processes in test_supervisor.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from roost.runtime.errors import SpawnFailed, StartFailed
from roost.runtime.inventory import Found
from roost.runtime.plan import ServicePlan
from roost.runtime.policy import RestartBook
from roost.runtime.protocol import Recorded, ServiceChange, ServiceExit
from roost.runtime.runs import MOVES, BadMove, ServiceRun, Spawned, Status, Usage
from roost.runtime.supervisor import LocalSupervisor


class JumpingClock:
    """Time moves only when someone sleeps, by exactly as long as they sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Process:
    pid: int
    service: str
    started_at: float
    code: int | None = None  # set when it exits
    on_exit: Callable[[], None] | None = field(default=None, repr=False)


class ScriptedHost:
    """Processes that exit when the test says so. ``ready_after``: polls a service needs
    before it is ready; ``gone_at_spawn``: services whose next process exits before it
    can be watched; ``fail_spawn``: services that cannot be spawned."""

    def __init__(self, clock: JumpingClock) -> None:
        self.clock = clock
        self.processes: dict[int, Process] = {}
        self.spawned: list[tuple[float, str]] = []  # (time, service) of every spawn
        self.ready_after: dict[str, int] = {}
        self.gone_at_spawn: list[str] = []
        self.fail_spawn: set[str] = set()
        self.terminated: list[int] = []
        self.polls = 0

    def current(self, service: str) -> Process:
        return [p for p in self.processes.values() if p.service == service][-1]

    def exit(self, service: str, code: int) -> None:
        process = self.current(service)
        process.code = code
        if process.on_exit is not None:
            asyncio.get_running_loop().call_soon(self._fire, process)

    def _fire(self, process: Process) -> None:
        if process.on_exit is not None:  # not unwatched meanwhile
            callback, process.on_exit = process.on_exit, None
            callback()

    async def spawn(self, plan: ServicePlan, prepare: Callable[[], Sequence[str]]) -> Spawned:
        prepare()
        if plan.service in self.fail_spawn:
            raise SpawnFailed(f"cannot start {plan.argv[0]!r}: not found or not executable")
        pid = 1000 + len(self.processes)
        process = Process(pid, plan.service, self.clock.now)
        if plan.service in self.gone_at_spawn:
            self.gone_at_spawn.remove(plan.service)
            process.code = 1
        self.processes[pid] = process
        self.spawned.append((self.clock.now, plan.service))
        return Spawned(pid, process.started_at)

    def watch(self, spawned: Spawned, on_exit: Callable[[], None]) -> Callable[[], None] | None:
        process = self.processes.get(spawned.pid)
        if process is None or process.code is not None:
            return None
        process.on_exit = on_exit

        def unwatch() -> None:
            process.on_exit = None

        return unwatch

    def exit_code(self, spawned: Spawned) -> int | None:
        process = self.processes.get(spawned.pid)
        return None if process is None else process.code

    async def terminate(self, spawned: Spawned, grace: float) -> None:
        self.terminated.append(spawned.pid)
        process = self.processes[spawned.pid]
        if process.code is None:
            process.code = -15

    def alive(self, pid: int, started_at: float) -> bool:
        process = self.processes.get(pid)
        return process is not None and process.code is None and process.started_at == started_at

    def freeze(self, spawned: Spawned) -> None:
        pass

    def thaw(self, spawned: Spawned) -> None:
        pass

    def let_go(self, spawned: Spawned) -> None:
        pass

    def usage(self, spawned: Spawned) -> Usage | None:
        return Usage(0.0, 4096)

    def uptime(self, spawned: Spawned) -> float:
        return self.clock.now - spawned.started_at

    async def ready(self, plan: ServicePlan, spawned: Spawned) -> bool:
        self.polls += 1
        needed = self.ready_after.get(plan.service, 0)
        self.ready_after[plan.service] = needed - 1
        return needed <= 0

    def log_tail(self, plan: ServicePlan, lines: int) -> str:
        return "boom"

    def inventory(self, cgroup_folders: Sequence[Path]) -> list[Found]:
        return []

    def close(self) -> None:
        pass


class Told:
    """The listener: everything the supervisor tells, in order."""

    def __init__(self) -> None:
        self.changes: list[ServiceChange] = []
        self.exits: list[ServiceExit] = []
        self.failures: list[tuple[str, str]] = []

    async def service_changed(self, change: ServiceChange) -> None:
        self.changes.append(change)

    async def service_exited(self, exited: ServiceExit) -> None:
        self.exits.append(exited)

    async def instance_failed(self, instance_id: str, reason: str) -> None:
        self.failures.append((instance_id, reason))


def plan(service: str = "api", **extra: Any) -> ServicePlan:
    return ServicePlan(
        instance_id="i1",
        service=service,
        argv=("server",),
        cwd=Path("/"),
        log=Path("/nonexistent") / f"{service}.log",
        env={},
        **extra,
    )


@dataclass
class Replay:
    clock: JumpingClock
    host: ScriptedHost
    told: Told
    supervisor: LocalSupervisor

    def run(self, service: str = "api") -> ServiceRun:
        [run] = [r for r in self.supervisor.services("i1") if r.plan.service == service]
        return run

    async def until(self, condition: Callable[[], bool]) -> None:
        """Let the event loop turn until ``condition`` holds (it never waits on real time)."""
        for _ in range(10_000):
            if condition():
                return
            await asyncio.sleep(0)
        raise AssertionError("the replay never got there")


@pytest.fixture
async def replay() -> Any:
    clock = JumpingClock()
    host = ScriptedHost(clock)
    told = Told()
    supervisor = LocalSupervisor(host, clock=clock, listener=told)
    yield Replay(clock, host, told, supervisor)
    await supervisor.close()


async def crash(replay: Replay, code: int = 3) -> None:
    """The service's current process exits; the supervisor has seen it."""
    run = replay.run()
    spawns = len(replay.host.spawned)
    replay.host.exit("api", code)
    await replay.until(
        lambda: run.status is not Status.RUNNING or len(replay.host.spawned) > spawns
    )
    await replay.until(lambda: run.status in (Status.RUNNING, Status.FAILED, Status.EXITED))


async def test_a_crash_loop_backs_off_then_hits_the_start_limit(replay: Replay) -> None:
    await replay.supervisor.start([plan()])
    for _ in range(5):
        await crash(replay)
    await replay.until(lambda: replay.told.failures != [])
    run = replay.run()
    assert run.status is Status.FAILED and run.restarts == 4
    assert replay.clock.sleeps == [0.5, 1.0, 2.0, 4.0]  # exponential backoff, from 0.5 s
    assert [at for at, _ in replay.host.spawned] == [0.0, 0.5, 1.5, 3.5, 7.5]
    assert [e.then for e in replay.told.exits] == [
        "restarting in 0.5 s",
        "restarting in 1 s",
        "restarting in 2 s",
        "restarting in 4 s",
        "gave up",
    ]
    [(instance_id, reason)] = replay.told.failures
    assert instance_id == "i1"
    assert reason.startswith("api@i1 exited with code 3, 5 failures in 60 s: giving up")
    assert reason.endswith("last output:\nboom")


async def test_a_service_that_ran_a_while_starts_its_backoff_over(replay: Replay) -> None:
    await replay.supervisor.start([plan()])
    await crash(replay)
    await crash(replay)
    assert replay.clock.sleeps == [0.5, 1.0]
    replay.clock.now += 60  # a long, healthy run: the burst window and the backoff reset
    await crash(replay)
    assert replay.clock.sleeps == [0.5, 1.0, 0.5]
    assert replay.run().status is Status.RUNNING and replay.run().restarts == 3
    assert replay.told.failures == []


@pytest.mark.parametrize(
    ("policy", "code", "then", "status"),
    [
        ("always", 0, "restarting in 0.5 s", Status.RUNNING),
        ("on-failure", 0, "not restarted (policy)", Status.EXITED),
        ("no", 0, "not restarted (policy)", Status.EXITED),
        ("no", 2, "gave up", Status.FAILED),
    ],
)
async def test_the_policy_decides_what_follows_an_exit(
    replay: Replay, policy: str, code: int, then: str, status: Status
) -> None:
    await replay.supervisor.start([plan(restart=policy)])
    await crash(replay, code)
    await replay.until(lambda: replay.run().status is status and replay.told.exits != [])
    assert replay.told.exits[-1].then == then
    assert replay.told.exits[-1].reason == f"exited with code {code}"
    await replay.until(lambda: (status is Status.FAILED) == bool(replay.told.failures))


async def test_a_stop_during_backoff_cancels_the_restart(replay: Replay) -> None:
    await replay.supervisor.start([plan()])
    run = replay.run()
    replay.host.exit("api", 3)
    await replay.until(lambda: run.status is Status.BACKOFF)
    await replay.supervisor.stop("i1")
    assert run.status is Status.STOPPED and run.pending is None
    for _ in range(100):  # the backoff would have ended long ago: nothing comes back
        await asyncio.sleep(0)
    assert len(replay.host.spawned) == 1 and run.status is Status.STOPPED
    assert [c.status for c in replay.told.changes] == ["running", "backoff", "stopped"]


async def test_a_restart_that_exits_before_it_is_watched_counts_as_an_exit(
    replay: Replay,
) -> None:
    await replay.supervisor.start([plan()])
    replay.host.gone_at_spawn.append("api")  # the restart's process dies at once
    replay.host.exit("api", 3)
    await replay.until(lambda: len(replay.host.spawned) == 3)
    assert replay.run().status is Status.RUNNING and replay.run().restarts == 2
    assert replay.clock.sleeps == [0.5, 1.0]


async def test_adoption_takes_what_lives_and_reports_what_exited_at_once(
    replay: Replay,
) -> None:
    live = await replay.host.spawn(plan("api"), list)
    dying = await replay.host.spawn(plan("web"), list)
    replay.host.processes[dying.pid].code = 0  # between the look and the watch
    alive, exited = replay.host.alive, set()

    def looked_at_alive(pid: int, started_at: float) -> bool:
        exited.add(pid)
        return pid == dying.pid or alive(pid, started_at)

    replay.host.alive = looked_at_alive  # type: ignore[method-assign]
    found = [
        Recorded("api", live.pid, live.started_at, restarts=2),
        Recorded("web", dying.pid, dying.started_at),
    ]
    missing = await replay.supervisor.adopt([plan("api"), plan("web")], found)
    assert missing == ["web"]
    assert exited == {live.pid, dying.pid}
    run = replay.run("api")
    assert run.status is Status.RUNNING and run.restarts == 2
    replay.host.exit("api", 1)  # an adopted process is supervised like any other
    await replay.until(lambda: len(replay.host.spawned) == 3)
    assert run.restarts == 3


async def test_a_start_waits_for_readiness_then_times_out(replay: Replay) -> None:
    replay.host.ready_after["api"] = 3
    await replay.supervisor.start([plan()])
    assert replay.clock.sleeps == [0.01, 0.015, 0.02]  # growing, capped for port checks
    replay.host.ready_after["web"] = 10**6
    with pytest.raises(StartFailed) as raised:
        await replay.supervisor.start([plan("web", start_timeout=1.0, ports=(8080,))])
    assert raised.value.code == "START_TIMEOUT"
    assert "web@i1 did not become ready in 1 s (waited for port 8080 to listen)" in (
        raised.value.message
    )
    assert 1.0 <= replay.clock.now < 1.1
    assert all(r.status is Status.STOPPED for r in replay.supervisor.services("i1"))


async def test_a_start_fails_when_the_service_dies_or_cannot_spawn(replay: Replay) -> None:
    replay.host.gone_at_spawn.append("api")
    with pytest.raises(StartFailed) as raised:
        await replay.supervisor.start([plan()])
    assert raised.value.code == "START_FAILED"
    assert raised.value.message.startswith("api@i1 exited with code 1 while starting")
    replay.host.fail_spawn.add("api")
    with pytest.raises(StartFailed) as raised:
        await replay.supervisor.start([plan()])
    assert raised.value.message == "api@i1: cannot start 'server': not found or not executable"


def test_every_status_has_its_moves_and_nothing_else_moves() -> None:
    assert set(MOVES) == set(Status)
    run = ServiceRun(plan(), RestartBook())
    run.move(Status.STOPPED)  # staying is always allowed
    with pytest.raises(BadMove, match="api@i1: stopped -> backoff"):
        run.move(Status.BACKOFF)
    for status in (Status.STARTING, Status.RUNNING, Status.BACKOFF, Status.FAILED):
        run.move(status)
    assert run.status is Status.FAILED
