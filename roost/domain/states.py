"""The instance lifecycle: one Enum of states, one of actions, one transition table.

Everything that changes an instance's state asks :func:`transition`; a pair missing
from the table is refused with 409 ``INVALID_TRANSITION``.
"""

from __future__ import annotations

from enum import StrEnum

from roost.domain.errors import Conflict


class State(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    INACTIVE = "inactive"
    PAUSED = "paused"
    ERROR = "error"
    MIGRATING = "migrating"
    DELETING = "deleting"


class Health(StrEnum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    ERROR = "error"


class Action(StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    RESTORE = "restore"
    MOVE = "move"
    DELETE = "delete"
    FAIL = "fail"


S, A = State, Action

# (from, action) -> to. DESIGN.md's table, row by row. Rows whose target equals their
# source (stop on inactive, start on active ...) are the "already there" no-ops: they
# succeed and change nothing.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.INACTIVE, A.START): S.ACTIVE,
    (S.ERROR, A.START): S.ACTIVE,
    (S.ACTIVE, A.START): S.ACTIVE,
    (S.ACTIVE, A.RESTART): S.ACTIVE,
    (S.INACTIVE, A.RESTART): S.ACTIVE,
    (S.ACTIVE, A.STOP): S.INACTIVE,
    (S.PAUSED, A.STOP): S.INACTIVE,
    (S.ERROR, A.STOP): S.INACTIVE,
    (S.PENDING, A.STOP): S.INACTIVE,
    (S.INACTIVE, A.STOP): S.INACTIVE,
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.ACTIVE, A.RESUME): S.ACTIVE,
    (S.ACTIVE, A.RESTORE): S.MIGRATING,
    (S.INACTIVE, A.RESTORE): S.MIGRATING,
    (S.ACTIVE, A.MOVE): S.MIGRATING,
    (S.INACTIVE, A.MOVE): S.MIGRATING,
    **{(state, A.DELETE): S.DELETING for state in State if state is not S.DELETING},
    **{(state, A.FAIL): S.ERROR for state in State if state is not S.DELETING},
}

# Where a restore or move may begin, and so where it goes back to.
MIGRATION_SOURCES = frozenset(
    source for (source, _), target in TRANSITIONS.items() if target is S.MIGRATING
)

# States the data plane serves (seed 001).
SERVED_STATES = frozenset({S.ACTIVE, S.MIGRATING})


def transition(state: State, action: Action) -> State:
    """The state ``action`` leads to from ``state``; 409 ``INVALID_TRANSITION`` if none."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise Conflict(
            f"cannot {action.value} an instance that is {state.value}",
            code="INVALID_TRANSITION",
            state=state.value,
            action=action.value,
        )
    return target


def is_noop(state: State, action: Action) -> bool:
    """True when ``action`` is allowed and leaves ``state`` as it is (stop on inactive).

    Restart on an active instance is not a no-op: it stops and starts the services.
    """
    return action is not A.RESTART and TRANSITIONS.get((state, action)) == state


def back_from_migration(state: State, previous: State | None) -> State:
    """Where a restore or move ends: the state the instance had when it began (recorded
    then); ``inactive`` if that record is not one a migration can begin from."""
    if state is not S.MIGRATING:
        raise Conflict(
            f"cannot end a migration of an instance that is {state.value}",
            code="INVALID_TRANSITION",
            state=state.value,
            action="end migration",
        )
    if previous is not None and previous in MIGRATION_SOURCES:
        return previous
    return S.INACTIVE
