"""What the data plane knows about instances, without asking the registry per request.

The directory holds each instance's state and storage limits in memory. It loads an
instance on first use (creating it when the data plane may, as seed 001 says), and
every control-plane change that touches an instance forgets it at once, so the next
request sees the change. It also tracks activity: ``last_active_at`` is written at most
once a minute per instance, by a background flush, never on the request's path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from roost.cache.backend import Limits
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, instance_not_found
from roost.domain.model import Instance
from roost.domain.sizes import parse_size
from roost.domain.states import State
from roost.domain.values import lookup_dotted
from roost.registry import instances as q
from roost.registry.database import Registry
from roost.registry.tables import instances

log = logging.getLogger("roost.directory")
CACHE_APP = "cache"
ACTIVITY_INTERVAL_S = 60.0
FLUSH_EVERY_S = 1.0
DEFAULT_MAX_KEYS = 1_000_000
DEFAULT_STORAGE = "100GB"

# Seed 001's defaults for an instance the data plane creates on first access.
SEED_DEFAULT_CONFIG: dict[str, Any] = {
    "game_type": "default",
    "region": "default",
    "resource_quota": {"memory": "8GB", "storage": DEFAULT_STORAGE, "cpu_cores": 4},
}


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
    def __init__(
        self,
        registry: Registry,
        create: Callable[[str], Any],
        *,
        auto_create: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._create = create  # async (instance_id) -> Instance, in the bare app "cache"
        self._auto_create = auto_create
        self.clock = clock  # monotonic seconds; tests replay time through it
        self._known: dict[str, Tenant] = {}
        self._loading: dict[str, asyncio.Task[Tenant]] = {}
        self._active: dict[int, datetime] = {}
        self.activity_writes = 0

    def cached(self, instance_id: str) -> Tenant | None:
        return self._known.get(instance_id)

    async def resolve(self, instance_id: str) -> Tenant:
        """The tenant for ``instance_id``: from memory, the registry, or created."""
        tenant = self._known.get(instance_id)
        if tenant is not None:
            return tenant
        loading = self._loading.get(instance_id)
        if loading is None:  # one load per id, however many requests wait for it
            loading = asyncio.ensure_future(self._load(instance_id))
            self._loading[instance_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(instance_id, None))
        return await asyncio.shield(loading)

    async def _load(self, instance_id: str) -> Tenant:
        instance = await self._registry.read(q.get_instance, instance_id)
        if instance is None:
            if not self._auto_create:
                raise instance_not_found(instance_id)
            try:
                instance = await self._create(instance_id)
            except Conflict:  # created meanwhile by someone else
                instance = await self._registry.read(q.get_instance, instance_id)
                if instance is None:
                    raise
        tenant = tenant_of(instance)
        self._known[instance_id] = tenant
        return tenant

    def forget(self, instance_id: str) -> None:
        """The instance changed (state, config) or is gone: reload it on next use."""
        self._known.pop(instance_id, None)

    def touch(self, tenant: Tenant) -> None:
        """Note activity; at most once per interval it is queued for the registry."""
        now = self.clock()
        if now - tenant.last_touch >= ACTIVITY_INTERVAL_S:
            tenant.last_touch = now
            self._active[tenant.pk] = utcnow()

    async def flush_activity(self) -> None:
        if not self._active:
            return
        pending, self._active = self._active, {}
        await self._registry.write(_write_activity, pending)
        self.activity_writes += 1

    async def run_flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self.flush_activity()
            except Exception:  # the next activity of these instances queues them again
                log.exception("could not record instance activity")


def _write_activity(conn: Connection, pending: dict[int, datetime]) -> None:
    for pk, at in pending.items():
        conn.execute(update(instances).where(instances.c.pk == pk).values(last_active_at=at))
