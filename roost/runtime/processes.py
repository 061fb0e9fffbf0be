"""The thin OS layer under the supervisor: spawn a service, watch it, stop its group.

Each service is the leader of its own session and process group, with its output
appended straight to its log file (the process holds the file, not roost), so it keeps
running if roost stops. A process is identified by pid *and* start time, so a recycled
pid is never mistaken for it, and one that has exited counts as gone even while it is
an unreaped zombie.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from roost.runtime.errors import SpawnFailed
from roost.runtime.plan import ServicePlan
from roost.runtime.runs import Spawned, Usage

POLL = 0.05
TAIL_BYTES = 4096


@dataclass
class Child:
    """What this layer keeps of a process it spawned (an adopted one has none)."""

    popen: subprocess.Popen[bytes] | None
    meter: psutil.Process | None = None  # kept, so cpu_percent measures between calls


def exit_code(spawned: Spawned) -> int | None:
    """Reap our child and return its code (negative: killed by that signal); None while
    it runs, or when it is not our child."""
    child = spawned.handle
    if not isinstance(child, Child) or child.popen is None:
        return None
    return child.popen.poll()


def spawn(
    plan: ServicePlan, prefix: list[str] | None = None, marked: dict[str, str] | None = None
) -> Spawned:
    """Start the service; ``prefix`` (a wrapper that confines it, then execs it) goes
    before its argv; ``marked``: variables that say whose it is, on top of its own."""
    if prefix:
        _check_executable(plan)  # the wrapper would only say "exit 127"
    plan.log.parent.mkdir(parents=True, exist_ok=True)
    log = os.open(plan.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        popen = subprocess.Popen(
            [*(prefix or []), *plan.argv],
            cwd=plan.cwd,
            env={**plan.env, **(marked or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # own session and process group: pgid == pid
            close_fds=True,
        )
    except OSError as exc:
        raise SpawnFailed(f"cannot start {plan.argv[0]!r}: {exc.strerror}") from None
    finally:
        os.close(log)
    try:
        started_at = psutil.Process(popen.pid).create_time()
    except psutil.Error:
        started_at = 0.0  # exited already; the watcher sees it at once
    return Spawned(popen.pid, started_at, Child(popen))


def _check_executable(plan: ServicePlan) -> None:
    command = plan.argv[0]
    if "/" in command:
        found = command if os.access(command, os.X_OK) and os.path.isfile(command) else None
    else:
        found = shutil.which(command, path=plan.env.get("PATH", os.defpath))
    if found is None:
        raise SpawnFailed(f"cannot start {command!r}: not found or not executable")


def let_go(spawned: Spawned) -> None:
    """Stop being the parent that watches ``spawned`` (the server is leaving it running):
    subprocess would otherwise warn about it and try to reap it later."""
    child = spawned.handle
    if isinstance(child, Child) and child.popen is not None:
        if child.popen.returncode is None:
            child.popen.returncode = 0  # not its exit code: ours to forget, not to report
        child.popen = None


def alive(pid: int, started_at: float) -> bool:
    """The same process (pid and start time), not exited (zombies count as gone)."""
    try:
        process = psutil.Process(pid)
        same = abs(process.create_time() - started_at) < 0.01
        return bool(same and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def exit_watch(pid: int) -> int | None:
    """A pidfd that becomes readable when ``pid`` exits (None if it is gone already)."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def _living(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    found = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


def _tree(spawned: Spawned) -> list[psutil.Process]:
    """The leader and everything it started, including what left its group."""
    try:
        leader = psutil.Process(spawned.pid)
        if abs(leader.create_time() - spawned.started_at) >= 0.01:
            return []
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def socket_inodes(spawned: Spawned) -> set[int]:
    """The inodes of the sockets the process and everything it started hold open."""
    inodes = set()
    for process in _tree(spawned):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{process.pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{process.pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
    return inodes


def _group(pgid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid:
                found.append(process)
    return found


async def terminate(spawned: Spawned, grace: float) -> None:
    """SIGTERM to the whole group (and to descendants that left it), SIGKILL to whatever
    is left after ``grace`` seconds; returns when none of them runs."""
    members = {p.pid: p for p in _tree(spawned)}
    members.update({p.pid: p for p in _group(spawned.pid)})
    _send(members.values(), spawned.pid, signal.SIGTERM)
    deadline = asyncio.get_running_loop().time() + grace
    # our own child is gone when it is reaped: a leader shows as a zombie while its other
    # threads are still exiting, and waitpid only reports it after them
    ours = isinstance(spawned.handle, Child) and spawned.handle.popen is not None
    while _living(members.values()) or (ours and exit_code(spawned) is None):
        if asyncio.get_running_loop().time() >= deadline:
            _send(_living(members.values()), spawned.pid, signal.SIGKILL)
            deadline = float("inf")
        await asyncio.sleep(POLL)


def _send(processes: Iterable[psutil.Process], pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(sig)


class ProcessTable:
    """Which process is whose child, read from ``/proc`` at most every ``max_age``
    seconds: measuring a hundred services looks at every process of the host once, not
    a hundred times (psutil's ``children()`` reads them all at each call)."""

    def __init__(self, max_age: float = 1.0) -> None:
        self._max_age = max_age
        self._read_at = float("-inf")
        self._children: dict[int, list[int]] = {}

    def descendants(self, pid: int) -> list[int]:
        now = time.monotonic()
        if now - self._read_at >= self._max_age:
            self._children, self._read_at = _children_by_parent(), now
        found: list[int] = []
        pending = [pid]
        while pending:
            for child in self._children.get(pending.pop(), ()):
                found.append(child)
                pending.append(child)
        return found


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                data = stat.read()
            parent = int(data[data.rindex(b")") + 2 :].split(None, 2)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
    return children


def usage(spawned: Spawned, table: ProcessTable) -> Usage | None:
    """What the service's processes use now; None when it does not run."""
    try:
        if not isinstance(spawned.handle, Child):
            spawned.handle = Child(None)
        if spawned.handle.meter is None:
            spawned.handle.meter = psutil.Process(spawned.pid)
        leader = spawned.handle.meter
        if abs(leader.create_time() - spawned.started_at) >= 0.01:
            return None
        with leader.oneshot():
            cpu = leader.cpu_percent(None)
            rss = leader.memory_info().rss
            times = leader.cpu_times()
        cpu_s = times.user + times.system + times.children_user + times.children_system
        processes = 1
        for pid in table.descendants(spawned.pid):
            with contextlib.suppress(psutil.Error), (child := psutil.Process(pid)).oneshot():
                rss += child.memory_info().rss
                child_times = child.cpu_times()
                cpu_s += child_times.user + child_times.system
                processes += 1
        return Usage(cpu, rss, cpu_s, processes)
    except psutil.Error:
        return None


def uptime(spawned: Spawned) -> float:
    return max(0.0, time.time() - spawned.started_at)


def freeze(spawned: Spawned) -> None:
    _send(_tree(spawned), spawned.pid, signal.SIGSTOP)


def thaw(spawned: Spawned) -> None:
    _send(_tree(spawned), spawned.pid, signal.SIGCONT)


def log_tail(plan: ServicePlan, lines: int = 20) -> str:
    """The last lines of the service's log (for error reports)."""
    try:
        with open(plan.log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - TAIL_BYTES))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
