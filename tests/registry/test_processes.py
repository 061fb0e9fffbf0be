"""Recorded processes (what the next server adopts): many rows in one write, replaced
in place, rows of instances that are gone skipped; on SQLite and PostgreSQL."""

from __future__ import annotations

import functools

from roost.domain.clock import utcnow
from roost.registry.processes import ProcessRow, processes_of, record_processes
from roost.settings import Settings
from tests.conftest import api_client, opened_context


async def test_many_processes_are_recorded_in_one_write_and_replaced_in_place(
    settings: Settings,
) -> None:
    async with opened_context(settings) as context, api_client(context) as client:
        for instance_id in ("p1", "p2"):
            created = await client.post("/v1/instances", json={"instance_id": instance_id})
            assert created.status_code == 201, created.text
        rows = [
            ProcessRow("p1", "web", 101, 1.5, "running", 0, None),
            ProcessRow("p2", "web", 102, 2.5, "running", 0, None),
            ProcessRow("p2", "worker", 103, 3.5, "running", 0, None),
            ProcessRow("gone", "web", 104, 4.5, "running", 0, None),  # no such instance
        ]
        write = context.registry.write
        await write(functools.partial(record_processes, rows=rows, at=utcnow()))
        assert await context.registry.read(processes_of, None) == rows[:3]
        exited = ProcessRow("p2", "web", None, None, "exited", 1, 3)
        await write(functools.partial(record_processes, rows=[exited], at=utcnow()))
        assert await context.registry.read(processes_of, "p2") == [exited, rows[2]]
        await write(functools.partial(record_processes, rows=[], at=utcnow()))
        assert len(await context.registry.read(processes_of, None)) == 3
