"""Activity tracking (seed 001): throttled to one registry write per minute per instance,
counted as real SQL statements, never written on the request's path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from roost.services.context import Context


@pytest.fixture
def activity_updates() -> Iterator[list[str]]:
    """Every ``UPDATE instances SET last_active_at`` any engine executes."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE instances SET last_active_at"):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


async def test_ten_thousand_requests_make_one_write_per_minute(
    client: httpx.AsyncClient, context: Context, activity_updates: list[str]
) -> None:
    now = [1000.0]
    context.directory.clock = lambda: now[0]
    headers = {"X-Instance-ID": "busy"}
    await client.put("/v1/cache/k", headers=headers, content="v")
    for _ in range(10_000):
        response = await client.get("/v1/cache/k", headers=headers)
        assert response.status_code == 200
    assert activity_updates == []  # nothing on the request path
    await context.directory.flush_activity()
    assert len(activity_updates) == 1
    first = (await client.get("/v1/instances/busy")).json()["last_active_at"]
    assert first is not None

    now[0] += 59  # still the same minute
    await client.get("/v1/cache/k", headers=headers)
    await context.directory.flush_activity()
    assert len(activity_updates) == 1

    now[0] += 2  # a minute later
    await client.get("/v1/cache/k", headers=headers)
    await context.directory.flush_activity()
    assert len(activity_updates) == 2
    assert (await client.get("/v1/instances/busy")).json()["last_active_at"] > first
