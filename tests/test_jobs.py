"""Background jobs: they repeat, a failure is logged and never ends them, and closing
cancels them (with one last run of what must not be lost)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from roost.jobs import Background, Every, Jobs


class JumpingClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def turns(count: int = 50) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_job_runs_at_its_interval_and_a_failed_step_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = JumpingClock()
    ran: list[float] = []

    async def step() -> None:
        ran.append(clock.now)
        if len(ran) == 2:
            raise OSError("disk full")

    jobs = Jobs(clock)
    jobs.start([Every("flush", 2.0, step, clock=clock)])
    with caplog.at_level(logging.ERROR, logger="roost.jobs"):
        while len(ran) < 4:
            await asyncio.sleep(0)
    await jobs.close()
    assert ran[:4] == [2.0, 4.0, 6.0, 8.0]  # the failure did not end it
    assert [r.getMessage() for r in caplog.records] == ["background job flush failed: disk full"]


async def test_a_job_whose_loop_dies_is_started_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = JumpingClock()
    starts: list[float] = []

    class Fragile:
        name = "fragile"

        async def run_forever(self) -> None:
            starts.append(clock.now)
            if len(starts) == 1:
                raise RuntimeError("bug")
            await asyncio.Event().wait()

    jobs = Jobs(clock)
    jobs.start([Fragile()])
    with caplog.at_level(logging.ERROR, logger="roost.jobs"):
        while len(starts) < 2:
            await asyncio.sleep(0)
    assert jobs.names == ["fragile"]
    await jobs.close()
    assert starts == [0.0, 5.0]
    assert "background job fragile failed; it starts again" in caplog.text


async def test_closing_cancels_every_job_and_runs_the_last_flush() -> None:
    clock = JumpingClock()
    flushed: list[str] = []
    other: list[str] = []

    async def flush() -> None:
        flushed.append("flush")

    async def tick() -> None:
        other.append("tick")

    jobs = Jobs(clock)
    jobs.start([Every("flush", 3600, flush, clock=clock, at_close=True), Every("tick", 3600, tick)])
    await turns(1)
    await jobs.close()
    assert flushed == ["flush"]  # never due, but run once more at close
    assert other == []
    assert jobs.names == []


async def test_background_holds_a_task_until_it_is_done() -> None:
    background = Background()
    gate = asyncio.Event()

    async def work() -> str:
        await gate.wait()
        return "done"

    task = background.run(work())
    assert len(background) == 1
    gate.set()
    assert await task == "done"
    await turns(2)
    assert len(background) == 0
