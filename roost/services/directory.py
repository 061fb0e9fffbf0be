"""What the data plane knows about instances, without asking the registry per request.

The directory holds each instance's state and storage limits in memory. It loads an
instance on first use, through the loader it is handed (``roost.services.tenants``
reads the registry, and creates the instance when the data plane may, as seed 001
says), and every control-plane change that touches an instance forgets it at once, so
the next request sees the change. It also tracks activity: ``last_active_at`` is
written at most once a minute per instance, by a background job, never on the
request's path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from roost.cache.backend import Limits
from roost.domain.clock import utcnow
from roost.domain.model import Instance
from roost.domain.sizes import parse_size
from roost.domain.states import State
from roost.domain.values import lookup_dotted
from roost.registry.database import Registry
from roost.registry.tables import instances

ACTIVITY_INTERVAL_S = 60.0
DEFAULT_MAX_KEYS = 1_000_000
DEFAULT_STORAGE = "100GB"


@dataclass
class Tenant:
    """One instance as the data plane sees it."""

    instance_id: str
    pk: int
    state: State
    limits: Limits
    last_touch: float = float("-inf")  # monotonic time activity was last recorded


def limits_of(config: dict[str, Any]) -> Limits:
    """``cache.max_bytes`` (default: the storage quota) and ``cache.max_keys``."""
    storage = lookup_dotted(config, "resource_quota.storage") or DEFAULT_STORAGE
    max_bytes = lookup_dotted(config, "cache.max_bytes")
    max_keys = lookup_dotted(config, "cache.max_keys")
    return Limits(
        max_bytes=parse_size(
            max_bytes if max_bytes is not None else storage, field="cache.max_bytes"
        ),
        max_keys=parse_size(
            max_keys if max_keys is not None else DEFAULT_MAX_KEYS, field="cache.max_keys"
        ),
    )


def tenant_of(instance: Instance) -> Tenant:
    return Tenant(instance.instance_id, instance.pk, instance.state, limits_of(instance.config))


class Directory:
    def __init__(self, registry: Registry, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._registry = registry
        self.clock = clock  # monotonic seconds; tests replay time through it
        self._known: dict[str, Tenant] = {}
        self._loading: dict[str, asyncio.Task[Tenant]] = {}
        self._active: dict[int, datetime] = {}
        self.activity_writes = 0
        self.operations: dict[str, int] = {}  # data-plane requests served, by instance
        self.restoring: set[str] = set()  # instances being restored: writes are refused

    def cached(self, instance_id: str) -> Tenant | None:
        return self._known.get(instance_id)

    async def resolve(self, instance_id: str, load: Callable[[], Awaitable[Instance]]) -> Tenant:
        """The tenant for ``instance_id``: from memory, else through ``load``."""
        tenant = self._known.get(instance_id)
        if tenant is not None:
            return tenant
        loading = self._loading.get(instance_id)
        if loading is None:  # one load per id, however many requests wait for it
            loading = asyncio.ensure_future(self._load(instance_id, load))
            self._loading[instance_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(instance_id, None))
        return await asyncio.shield(loading)

    async def _load(self, instance_id: str, load: Callable[[], Awaitable[Instance]]) -> Tenant:
        tenant = tenant_of(await load())
        self._known[instance_id] = tenant
        return tenant

    def forget(self, instance_id: str) -> None:
        """The instance changed (state, config) or is gone: reload it on next use."""
        self._known.pop(instance_id, None)

    def touch(self, tenant: Tenant) -> None:
        """Count a request; at most once per interval it is queued for the registry."""
        self.operations[tenant.instance_id] = self.operations.get(tenant.instance_id, 0) + 1
        now = self.clock()
        if now - tenant.last_touch >= ACTIVITY_INTERVAL_S:
            tenant.last_touch = now
            self._active[tenant.pk] = utcnow()

    def deleted(self, instance_id: str) -> None:
        """The instance is gone for good: its request count too (else every deleted
        tenant stays counted for as long as the server runs)."""
        self.forget(instance_id)
        self.operations.pop(instance_id, None)

    async def flush_activity(self) -> None:
        """Write the activity queued so far (a background job, and once more at close);
        what a failed write held is queued again by those instances' next activity."""
        if not self._active:
            return
        pending, self._active = self._active, {}
        await self._registry.write(_write_activity, pending)
        self.activity_writes += 1


def _write_activity(conn: Connection, pending: dict[int, datetime]) -> None:
    for pk, at in pending.items():
        conn.execute(update(instances).where(instances.c.pk == pk).values(last_active_at=at))
