"""SQLite's single writer, with group commit.

SQLite takes one writer at a time, so roost gives it one thread. That thread takes every
unit of work waiting in its queue and runs them in one ``BEGIN IMMEDIATE`` transaction,
each unit inside its own SAVEPOINT: a unit that fails rolls back alone, the others
commit together, and every caller hears back only after that COMMIT, so an answer always
means "on disk" (WAL). One commit and one wake-up per batch instead of per unit is what
lets many concurrent creates share the single writer.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

MAX_BATCH = 128


@dataclass
class _Job:
    unit: Callable[[Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    result: Any = None
    error: BaseException | None = None


def _settle(job: _Job) -> None:
    if job.future.cancelled():
        return
    if job.error is not None:
        job.future.set_exception(job.error)
    else:
        job.future.set_result(job.result)


class SqliteWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="roost-sqlite-writer", daemon=True)
        self._thread.start()

    async def submit(self, unit: Callable[[Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        job = _Job(unit, loop.create_future(), loop)
        self._queue.put(job)
        return await job.future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job)
            self._commit(batch)
            for job in batch:
                job.loop.call_soon_threadsafe(_settle, job)
            if stop:
                return

    def _commit(self, batch: list[_Job]) -> None:
        if len(batch) == 1:  # alone in its transaction: no savepoint needed
            self._commit_alone(batch[0])
            return
        try:
            with self._engine.connect() as conn, conn.begin():
                for job in batch:
                    # Plain SQL: SQLAlchemy's begin_nested() compiles a new SAVEPOINT
                    # clause every time, which cost more than the units themselves.
                    conn.exec_driver_sql("SAVEPOINT unit")
                    try:
                        job.result = job.unit(conn)
                    except Exception as exc:  # this unit rolls back alone
                        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT unit")
                        job.error = exc
                    conn.exec_driver_sql("RELEASE SAVEPOINT unit")
        except Exception as exc:  # BEGIN or COMMIT failed: nothing in the batch was written
            for job in batch:
                if job.error is None:
                    job.error = exc

    def _commit_alone(self, job: _Job) -> None:
        try:
            with self._engine.connect() as conn, conn.begin():
                job.result = job.unit(conn)
        except Exception as exc:
            job.error = exc
