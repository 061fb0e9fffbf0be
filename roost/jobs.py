"""Background work: jobs that repeat for as long as the server runs, and tasks that must
finish even when nobody waits for them any more.

A job is a small typed object with a name and an async ``run_forever``; most are an
interval and one async step (:class:`Every`). A step that fails is logged and the job
goes on; a ``run_forever`` that fails or returns is logged and started again after a
pause. No job dies silently, and closing cancels and awaits them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from roost.domain.clock import SYSTEM_CLOCK, Clock
from roost.failures import log_failure

log = logging.getLogger("roost.jobs")
RESTART_AFTER_S = 5.0
T = TypeVar("T")


class Job(Protocol):
    @property
    def name(self) -> str: ...

    async def run_forever(self) -> None: ...


def log_and_go_on(job: str, error: Exception) -> None:
    log_failure(log, error, "background job %s failed", job)


@dataclass
class JobStats:
    """What a job did, for ``GET /metrics``."""

    runs: int = 0
    failures: int = 0
    seconds: float = 0.0  # spent running

    def ran(self, seconds: float, *, failed: bool) -> None:
        self.runs += 1
        self.failures += failed
        self.seconds += seconds


@dataclass(frozen=True)
class Every:
    """``step`` every ``interval`` seconds; with ``at_close``, once more when the jobs
    close (work that must not be lost at shutdown, such as a buffer to flush)."""

    name: str
    interval: float
    step: Callable[[], Awaitable[object]]
    clock: Clock = SYSTEM_CLOCK
    at_close: bool = False
    on_error: Callable[[str, Exception], None] = field(default=log_and_go_on, repr=False)
    stats: JobStats = field(default_factory=JobStats, compare=False, repr=False)

    async def run_forever(self) -> None:
        while True:
            await self.clock.sleep(self.interval)
            await self.run_once()

    async def run_once(self) -> None:
        began = time.perf_counter()
        failed = False
        try:
            await self.step()
        except Exception as exc:
            failed = True
            self.on_error(self.name, exc)
        self.stats.ran(time.perf_counter() - began, failed=failed)


class Jobs:
    """The jobs of one running context."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._jobs: list[Job] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def names(self) -> list[str]:
        return [job.name for job in self._jobs]

    def stats(self) -> dict[str, JobStats]:
        """Each running job's stats, where it keeps them."""
        found = {job.name: getattr(job, "stats", None) for job in self._jobs}
        return {name: stats for name, stats in found.items() if isinstance(stats, JobStats)}

    def start(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            self._jobs.append(job)
            self._tasks.append(asyncio.create_task(self._keep(job), name=f"job:{job.name}"))

    async def _keep(self, job: Job) -> None:
        while True:
            try:
                await job.run_forever()
                log.error("background job %s returned; it starts again", job.name)
            except Exception as error:
                log_failure(log, error, "background job %s failed; it starts again", job.name)
            await self._clock.sleep(RESTART_AFTER_S)

    async def close(self) -> None:
        """Cancel every job and wait for it; then the last run of the ``at_close`` ones."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for job in self._jobs:
            if isinstance(job, Every) and job.at_close:
                await job.run_once()
        self._jobs.clear()


class Background:
    """Tasks held until they finish: asyncio keeps only weak references to tasks, so one
    that nobody awaits any more (its client went away) could otherwise be collected."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def run(self, work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def settle(self, within: float | None = None) -> None:
        """Wait until every task started so far is done (or ``within`` seconds passed)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=within)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
