"""Recorded changes of an instance's state, along DESIGN.md's table (``domain/states.py``).

Each is a unit of one transaction: the row is locked, the move checked, the new state
written with compare-and-set, and the event recorded with it. The lifecycle use cases
and the runner (which does the processes' part first) share these.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.clock import utcnow
from roost.domain.errors import instance_not_found
from roost.domain.model import Instance
from roost.domain.states import Action, State, back_from_migration, is_noop, transition
from roost.registry import instances as q
from roost.services.changes import Change, Recorder, commit
from roost.services.context import Context

MAX_REASON = 2000


def locked(conn: Connection, instance_id: str) -> Instance:
    """The instance's row, locked for this transaction (PostgreSQL); 404 when missing."""
    instance = q.get_instance(conn, instance_id, for_update=True)
    if instance is None:
        raise instance_not_found(instance_id)
    return instance


def transition_unit(instance_id: str, action: Action) -> Change[Instance]:
    """Move the instance along ``action``; an action that leaves its state as it is
    changes nothing. Restore and move keep the state they leave, to go back to."""

    def apply(conn: Connection, record: Recorder) -> Instance:
        instance = locked(conn, instance_id)
        target = transition(instance.state, action)
        if is_noop(instance.state, action):
            return instance
        previous = instance.state if target is State.MIGRATING else None
        now = utcnow()
        q.compare_and_set_state(
            conn, instance.pk, expected=instance.state, new=target, at=now, previous=previous
        )
        record(
            f"instance.{action.value}",
            instance,
            details={"from": instance.state.value, "to": target.value},
        )
        return replace(instance, state=target, error=None, previous_state=previous, updated_at=now)

    return apply


def migration_end_unit(instance_id: str) -> Change[Instance | None]:
    """Back from ``migrating`` to the state the instance had before (as recorded); None
    when it is no longer migrating (it failed, or is being deleted, meanwhile)."""

    def apply(conn: Connection, record: Recorder) -> Instance | None:
        instance = q.get_instance(conn, instance_id, for_update=True)
        if instance is None or instance.state is not State.MIGRATING:
            return None
        target = back_from_migration(instance.state, instance.previous_state)
        now = utcnow()
        q.compare_and_set_state(conn, instance.pk, expected=instance.state, new=target, at=now)
        record(
            "instance.migrated",
            instance,
            details={"from": instance.state.value, "to": target.value},
        )
        return replace(instance, state=target, error=None, previous_state=None, updated_at=now)

    return apply


async def record_failure(ctx: Context, actor: Actor, instance_id: str, reason: str) -> None:
    """Any state but ``deleting`` may fail: to ``error``, with the reason."""
    reason = reason[:MAX_REASON]

    def apply(conn: Connection, record: Recorder) -> None:
        instance = q.get_instance(conn, instance_id, for_update=True)
        if instance is None or instance.state is State.DELETING:
            return
        q.compare_and_set_state(
            conn, instance.pk, expected=instance.state, new=State.ERROR, at=utcnow(), error=reason
        )
        record(
            "instance.failed",
            instance,
            outcome="error",
            details={"from": instance.state.value, "reason": reason},
        )

    await commit(ctx, actor, apply)
