"""Everything a running roost holds open: settings, home, registry, cache, caches of both.

Opening a context starts its background work (activity flush, expiry of cache keys);
closing it stops that work, flushes, and closes the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field

from roost.cache.backend import CacheBackend
from roost.cache.embedded import EmbeddedStore
from roost.cache.redis import RedisStore
from roost.domain.errors import InvalidInput
from roost.domain.model import Instance
from roost.home import Home
from roost.ports import parse_range
from roost.registry.database import Registry
from roost.secrets import SecretBox
from roost.services.apps import AppCatalog
from roost.services.directory import Directory
from roost.services.ordinals import OrdinalAllocator
from roost.services.ports import PortAllocator
from roost.services.runner import Runner
from roost.settings import Settings

log = logging.getLogger("roost.context")
EXPIRE_EVERY_S = 1.0


def open_cache(settings: Settings, home: Home) -> CacheBackend:
    """``ROOST_CACHE_BACKEND``: ``embedded`` (in the home) or a ``redis://`` URL."""
    backend = settings.cache_backend
    if backend == "embedded":
        return EmbeddedStore(home.path / "cache", memory_budget=settings.cache_memory_bytes)
    if backend.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(backend)
    raise InvalidInput(
        f"unknown cache backend {backend!r}: use 'embedded' or a redis:// URL",
        code="INVALID_CACHE_BACKEND",
    )


@dataclass
class Context:
    settings: Settings
    home: Home
    registry: Registry
    box: SecretBox
    apps: AppCatalog
    ordinals: OrdinalAllocator
    cache: CacheBackend
    ports: PortAllocator
    directory: Directory = field(init=False)
    runner: Runner = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @classmethod
    async def open(cls, settings: Settings) -> Context:
        home = Home(settings.home)
        home.ensure()
        box = SecretBox.from_setting(settings.secret_key, home.secret_keys())
        cache = open_cache(settings, home)
        registry = Registry(settings.database_url)
        try:
            await registry.open()
        except BaseException:
            await cache.close()
            await registry.close()
            raise
        ports = PortAllocator(registry, socket.gethostname(), parse_range(settings.port_range))
        context = cls(
            settings,
            home,
            registry,
            box,
            AppCatalog(registry),
            OrdinalAllocator(registry),
            cache,
            ports,
        )
        context.directory = Directory(
            registry, context._create_for_data_plane, auto_create=settings.cache_auto_create
        )
        context.runner = Runner(context)
        context._tasks.append(asyncio.create_task(context.directory.run_flusher()))
        context._tasks.append(asyncio.create_task(context.runner.rotate_logs_forever()))
        if isinstance(cache, EmbeddedStore):
            context._tasks.append(asyncio.create_task(_expire_forever(cache)))
        return context

    async def _create_for_data_plane(self, instance_id: str) -> Instance:
        from roost.auth import LOCAL_ACTOR
        from roost.services.directory import CACHE_APP, SEED_DEFAULT_CONFIG
        from roost.services.instances import CreateRequest, create_instance

        await self.apps.ensure_bare(CACHE_APP)
        request = CreateRequest(app=CACHE_APP, instance_id=instance_id, config=SEED_DEFAULT_CONFIG)
        return await create_instance(self, LOCAL_ACTOR, request, event_action="cache.auto-create")

    async def close(self) -> None:
        await self.runner.close(stop_all=self.settings.stop_on_exit)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.directory.flush_activity()
        except Exception:
            log.exception("could not record instance activity at shutdown")
        await self.cache.close()
        await self.registry.close()


async def _expire_forever(store: EmbeddedStore) -> None:
    while True:
        await asyncio.sleep(EXPIRE_EVERY_S)
        store.expire()
