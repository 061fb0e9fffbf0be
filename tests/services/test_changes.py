"""Every control-plane change: its events commit with it, name who made it, and the
data plane's directory lets go of what it touched."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from roost.auth import LOCAL_ACTOR, Actor
from roost.domain.model import Event, Instance
from roost.registry import instances as q
from roost.registry.events import list_events
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.tenants import tenant

OPERATOR = Actor("operator-7")


async def events_of(context: Context, instance_id: str) -> list[Event]:
    return await context.registry.read(list_events, instance_id=instance_id, since=None, limit=50)


async def test_the_events_commit_with_the_change_and_name_the_actor(
    context: Context, bare: Instance
) -> None:
    def rename(conn: Connection, record: Recorder) -> str:
        q.update_instance(conn, bare.pk, at=bare.updated_at, name="renamed")
        record("instance.update", bare, details={"changed": ["name"]})
        record("app.note", app="default")  # an event of no instance
        return "done"

    assert await commit(context, OPERATOR, rename) == "done"
    [event] = [e for e in await events_of(context, "b1") if e.action == "instance.update"]
    assert (event.actor, event.app, event.details) == (
        OPERATOR.name,
        "default",
        {"changed": ["name"]},
    )
    assert (await context.registry.read(q.get_instance, "b1")).name == "renamed"  # type: ignore[union-attr]


async def test_a_change_that_fails_leaves_neither_the_change_nor_its_event(
    context: Context, bare: Instance
) -> None:
    def half(conn: Connection, record: Recorder) -> None:
        q.update_instance(conn, bare.pk, at=bare.updated_at, name="half")
        record("instance.update", bare)
        raise RuntimeError("the disk went away")

    before = await events_of(context, "b1")
    with pytest.raises(RuntimeError):
        await commit(context, OPERATOR, half)
    assert await events_of(context, "b1") == before
    assert (await context.registry.read(q.get_instance, "b1")).name == "b1"  # type: ignore[union-attr]


async def test_the_directory_forgets_what_a_change_touched(
    context: Context, bare: Instance
) -> None:
    await tenant(context, LOCAL_ACTOR, "b1")
    assert context.directory.cached("b1") is not None

    def note(conn: Connection, record: Recorder) -> None:
        record("instance.note", "b1", app="default")

    await commit(context, OPERATOR, note)
    assert context.directory.cached("b1") is None  # the next request reads it anew
