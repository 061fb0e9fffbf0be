"""Lifecycle use cases without HTTP: the migration entry point that restore and move go
through, and acting on many instances at once."""

from __future__ import annotations

import pytest

from roost.auth import LOCAL_ACTOR
from roost.domain.errors import Conflict, InvalidInput, RoostError
from roost.domain.model import Instance
from roost.domain.states import Action, State
from roost.registry import instances as q
from roost.services.context import Context
from roost.services.lifecycle import act, act_many, migrating
from roost.services.tenants import tenant
from roost.services.transitions import record_failure


async def state_of(context: Context, instance_id: str) -> tuple[State, State | None]:
    instance = await context.registry.read(q.get_instance, instance_id)
    assert instance is not None
    return instance.state, instance.previous_state


@pytest.mark.parametrize("start", [State.ACTIVE, State.INACTIVE])
async def test_a_migration_goes_back_to_the_state_it_began_in(
    context: Context, bare: Instance, start: State
) -> None:
    if start is State.INACTIVE:
        await act(context, LOCAL_ACTOR, "b1", Action.STOP)
    async with migrating(context, LOCAL_ACTOR, "b1", Action.RESTORE) as held:
        assert held.state is State.MIGRATING
        assert await state_of(context, "b1") == (State.MIGRATING, start)  # recorded
        with pytest.raises(Conflict) as refused:  # nothing else moves it meanwhile
            await act(context, LOCAL_ACTOR, "b1", Action.START)
        assert refused.value.code == "INVALID_TRANSITION"
    assert await state_of(context, "b1") == (start, None)


async def test_the_data_plane_serves_a_migrating_instance(context: Context, bare: Instance) -> None:
    async with migrating(context, LOCAL_ACTOR, "b1", Action.MOVE):
        assert (await tenant(context, LOCAL_ACTOR, "b1")).state is State.MIGRATING
    assert (await tenant(context, LOCAL_ACTOR, "b1")).state is State.ACTIVE


async def test_a_failed_migration_goes_back_too_and_says_why(
    context: Context, bare: Instance
) -> None:
    with pytest.raises(OSError, match="disk full"):
        async with migrating(context, LOCAL_ACTOR, "b1", Action.RESTORE):
            raise OSError("disk full")
    assert await state_of(context, "b1") == (State.ACTIVE, None)


async def test_a_failure_during_a_migration_is_not_undone(context: Context, bare: Instance) -> None:
    async with migrating(context, LOCAL_ACTOR, "b1", Action.RESTORE):
        await record_failure(context, LOCAL_ACTOR, "b1", "the archive is damaged")
    assert (await state_of(context, "b1"))[0] is State.ERROR


async def test_only_active_or_inactive_instances_migrate(context: Context, bare: Instance) -> None:
    await act(context, LOCAL_ACTOR, "b1", Action.PAUSE)
    with pytest.raises(Conflict) as refused:
        async with migrating(context, LOCAL_ACTOR, "b1", Action.RESTORE):
            pass
    assert refused.value.code == "INVALID_TRANSITION"
    with pytest.raises(InvalidInput):
        async with migrating(context, LOCAL_ACTOR, "b1", Action.START):
            pass
    assert await state_of(context, "b1") == (State.PAUSED, None)


async def test_acting_on_many_reports_each_and_one_failure_stops_nothing(
    context: Context, bare: Instance
) -> None:
    outcomes = {
        instance_id: outcome
        async for instance_id, outcome in act_many(
            context, LOCAL_ACTOR, ["b1", "missing", "b1"], Action.STOP
        )
    }
    assert set(outcomes) == {"b1", "missing"}  # a repeated id is acted on once
    stopped = outcomes["b1"]
    assert isinstance(stopped, Instance) and stopped.state is State.INACTIVE
    failed = outcomes["missing"]
    assert isinstance(failed, RoostError) and failed.code == "INSTANCE_NOT_FOUND"
    assert len(context.background) == 0  # every task held until done, then let go
