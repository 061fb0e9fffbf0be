"""The policy roost runs with: roles, owners and grants (``domain/access.py``), asked
by every use case, with every refusal recorded.

Who may act on an instance (its app, owner and grants) is read from the registry once
and kept in memory; every change that touches the instance forgets it (``commit``),
so a grant or a delete counts from the next request. A missing instance passes here:
the use case answers 404 itself, to anyone.
"""

from __future__ import annotations

import logging

from roost.domain.access import (
    ON_INSTANCE,
    AccessDenied,
    Actor,
    InstanceAccess,
    check,
    check_general,
)
from roost.failures import log_failure
from roost.registry import users as user_store
from roost.registry.database import Registry
from roost.registry.events import record_event

log = logging.getLogger("roost.policy")
MAX_REMEMBERED = 100_000


class RolePolicy:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._access: dict[str, InstanceAccess] = {}
        # what was allowed on each instance, by (token, or actor) and action: the data
        # plane asks the same question on every request
        self._allowed: dict[str, set[tuple[str, str]]] = {}

    async def authorize(self, actor: Actor, action: str, target: str | None = None) -> None:
        try:
            await self._check(actor, action, target)
        except AccessDenied as refused:
            await self._record(actor, action, target, refused)
            raise

    async def allows(self, actor: Actor, action: str, target: str | None = None) -> bool:
        try:
            await self._check(actor, action, target)
        except AccessDenied:
            return False
        return True

    async def _check(self, actor: Actor, action: str, target: str | None) -> None:
        """Raise AccessDenied when ``actor`` may not; what was allowed on an instance
        that exists is remembered."""
        if actor.admin:
            return
        if action in ON_INSTANCE and target is not None:
            asked = (actor.token or actor.name, action)
            allowed = self._allowed.get(target)
            if allowed is not None and asked in allowed:
                return
            access = self._access.get(target) or await self._load(target)
            if access is not None:
                check(actor, action, access)
                self._allowed.setdefault(target, set()).add(asked)
        else:
            check_general(actor, action, target)

    def forget(self, instance_id: str) -> None:
        self._access.pop(instance_id, None)
        self._allowed.pop(instance_id, None)

    async def _load(self, instance_id: str) -> InstanceAccess | None:
        access = await self._registry.read(user_store.access_of, instance_id)
        if access is not None:
            if len(self._access) >= MAX_REMEMBERED:
                self._access.clear()
                self._allowed.clear()
            self._access[instance_id] = access
        return access

    async def _record(
        self, actor: Actor, action: str, target: str | None, refused: AccessDenied
    ) -> None:
        """Every refusal is an event: who, what, on what."""
        on_instance = action in ON_INSTANCE and target is not None
        try:
            await self._registry.write(
                record_event,
                actor=actor.name,
                token=actor.token,
                action=action,
                instance_id=target if on_instance else None,
                app=None if on_instance else target,
                outcome="denied",
                details={"reason": refused.message},
            )
        except Exception as error:  # the refusal stands whether or not it could be written down
            log_failure(log, error, "could not record a refusal of %s to %s", action, actor.name)
