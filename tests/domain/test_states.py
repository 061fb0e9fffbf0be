from __future__ import annotations

import pytest

from roost.domain.errors import Conflict
from roost.domain.states import (
    MIGRATION_SOURCES,
    TRANSITIONS,
    Action,
    State,
    back_from_migration,
    is_noop,
    transition,
)

S, A = State, Action

# DESIGN.md's lifecycle table, row by row, written out independently of the module.
DESIGN_TABLE: dict[tuple[State, Action], State] = {
    (S.INACTIVE, A.START): S.ACTIVE,
    (S.ERROR, A.START): S.ACTIVE,
    (S.ACTIVE, A.RESTART): S.ACTIVE,
    (S.INACTIVE, A.RESTART): S.ACTIVE,
    (S.ACTIVE, A.STOP): S.INACTIVE,
    (S.PAUSED, A.STOP): S.INACTIVE,
    (S.ERROR, A.STOP): S.INACTIVE,
    (S.PENDING, A.STOP): S.INACTIVE,
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.ACTIVE, A.RESTORE): S.MIGRATING,
    (S.INACTIVE, A.RESTORE): S.MIGRATING,
    (S.ACTIVE, A.MOVE): S.MIGRATING,
    (S.INACTIVE, A.MOVE): S.MIGRATING,
    **{(s, A.DELETE): S.DELETING for s in State if s is not S.DELETING},
    **{(s, A.FAIL): S.ERROR for s in State if s is not S.DELETING},
}
# "An action that leaves the state as it is succeeds and changes nothing."
NOOPS = {
    (S.INACTIVE, A.STOP),
    (S.ACTIVE, A.START),
    (S.PAUSED, A.PAUSE),
    (S.ACTIVE, A.RESUME),
}
ALL_PAIRS = [(s, a) for s in State for a in Action]


@pytest.mark.parametrize(("state", "action"), sorted(DESIGN_TABLE, key=str))
def test_every_row_of_the_design_table(state: State, action: Action) -> None:
    assert transition(state, action) is DESIGN_TABLE[(state, action)]


@pytest.mark.parametrize(("state", "action"), sorted(NOOPS, key=str))
def test_noop_actions_succeed_and_change_nothing(state: State, action: Action) -> None:
    assert transition(state, action) is state
    assert is_noop(state, action)


def test_restart_of_an_active_instance_is_work_not_a_noop() -> None:
    assert transition(S.ACTIVE, A.RESTART) is S.ACTIVE
    assert not is_noop(S.ACTIVE, A.RESTART)


@pytest.mark.parametrize(
    ("state", "action"),
    [pair for pair in ALL_PAIRS if pair not in DESIGN_TABLE and pair not in NOOPS],
)
def test_every_other_pair_is_refused(state: State, action: Action) -> None:
    with pytest.raises(Conflict) as refused:
        transition(state, action)
    assert refused.value.code == "INVALID_TRANSITION"
    assert refused.value.status == 409
    assert refused.value.extra == {"state": state.value, "action": action.value}
    assert state.value in refused.value.message and action.value in refused.value.message


def test_the_module_table_is_exactly_the_design_table_plus_noops() -> None:
    assert set(TRANSITIONS) == set(DESIGN_TABLE) | NOOPS


def test_a_migration_begins_only_where_it_can_go_back_to() -> None:
    assert {State.ACTIVE, State.INACTIVE} == MIGRATION_SOURCES
    for source in MIGRATION_SOURCES:
        assert back_from_migration(State.MIGRATING, source) is source
    assert back_from_migration(State.MIGRATING, None) is State.INACTIVE  # nothing claims to run
    assert back_from_migration(State.MIGRATING, State.PAUSED) is State.INACTIVE
    with pytest.raises(Conflict) as refused:
        back_from_migration(State.ACTIVE, State.INACTIVE)
    assert refused.value.code == "INVALID_TRANSITION"
