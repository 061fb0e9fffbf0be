"""Control-plane changes: written in one transaction with the events that say what
happened, then what holds the instances they touched in memory is told to let go.

Every change to the control plane goes through :func:`commit`: the change gets a
:class:`Recorder` for its events, bound to the transaction and the actor, so an event
commits exactly when its change does, always names who made it, and the audit log has
one place to hook into.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.clock import rfc3339, utcnow
from roost.domain.model import Instance
from roost.domain.webhooks import ALERT_EVENTS, Alert
from roost.registry.events import record_event
from roost.services.context import Context

T = TypeVar("T")


class Recorder:
    """The events of one change, recorded in its transaction."""

    def __init__(self, conn: Connection, actor: Actor) -> None:
        self._conn = conn
        self._actor = actor
        self.touched: set[str] = set()  # instance ids the change recorded events for
        self.alerts: list[Alert] = []  # its events that webhooks may be told of

    def __call__(
        self,
        action: str,
        instance: Instance | str | None = None,
        *,
        app: str | None = None,
        outcome: str = "ok",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record ``action`` on ``instance`` (a record, or an id with ``app``)."""
        if isinstance(instance, Instance):
            instance_id: str | None = instance.instance_id
            app = app if app is not None else instance.app
        else:
            instance_id = instance
        record_event(
            self._conn,
            actor=self._actor.name,
            token=self._actor.token,
            action=action,
            instance_id=instance_id,
            app=app,
            outcome=outcome,
            details=details,
        )
        if instance_id is not None:
            self.touched.add(instance_id)
        if action in ALERT_EVENTS:
            at = rfc3339(utcnow()) or ""
            self.alerts.append(Alert(action, instance_id, app, outcome, details or {}, at))


Change = Callable[[Connection, Recorder], T]


async def commit(ctx: Context, actor: Actor, change: Change[T]) -> T:
    """Run ``change`` in one transaction; once it committed, every instance it recorded
    an event for is forgotten where it is held (``Context.forget``), so the next request
    reads it anew, and its alerts go to the webhooks."""
    touched: set[str] = set()
    alerts: list[Alert] = []

    def unit(conn: Connection) -> T:
        record = Recorder(conn, actor)
        try:
            done = change(conn, record)
            alerts[:] = record.alerts
            return done
        finally:
            touched.update(record.touched)

    try:
        committed = await ctx.registry.write(unit)
    finally:
        for instance_id in touched:
            ctx.forget(instance_id)
    ctx.alerts.add(alerts)
    return committed
