"""The composition root: the one place that chooses roost's parts and wires them.

:func:`open_context` builds what it is not handed (a test hands in a fake runtime, a
cache or registry of its choice, a clock it drives, no jobs), attaches the runtime's
listener, starts the background jobs and returns the open :class:`Context`, which owns
its parts from then on. Nothing else in roost names a concrete backend.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from roost.auth import Authenticator, Policy
from roost.cache.backend import CacheBackend
from roost.cache.backends import open_cache
from roost.domain.clock import SYSTEM_CLOCK, Clock
from roost.home import Home
from roost.jobs import Jobs
from roost.ports import parse_range
from roost.registry.database import Registry
from roost.runtime.local import local_runtime
from roost.runtime.protocol import Runtime
from roost.secrets import SecretBox
from roost.services.apps import AppCatalog
from roost.services.authentication import TokenAuthenticator
from roost.services.cache_damage import CacheDamageEvents
from roost.services.context import Context
from roost.services.directory import Directory
from roost.services.jobs import STANDARD_JOBS, JobFactory
from roost.services.ordinals import OrdinalAllocator
from roost.services.policy import RolePolicy
from roost.services.port_allocator import PortAllocator
from roost.services.runtime_events import RuntimeEvents
from roost.settings import Settings

if TYPE_CHECKING:
    from roost.restic import Restic
    from roost.s3_copies import S3Copies


async def open_context(
    settings: Settings,
    *,
    registry: Registry | None = None,
    runtime: Runtime | None = None,
    cache: CacheBackend | None = None,
    clock: Clock = SYSTEM_CLOCK,
    authenticator: Authenticator | None = None,
    policy: Policy | None = None,
    jobs: Iterable[JobFactory] = STANDARD_JOBS,
) -> Context:
    home = Home(settings.home)
    home.ensure()
    box = SecretBox.from_setting(settings.secret_key, home.secret_keys())
    if cache is None:
        cache = open_cache(
            settings.cache_backend, home.path / "cache", memory_budget=settings.cache_memory_bytes
        )
    registry = registry if registry is not None else Registry(settings.database_url)
    try:  # migrated at open; from here on the context owns it and closes it
        await registry.open()
    except BaseException:
        await cache.close()
        await registry.close()
        raise
    ctx = Context(
        settings=settings,
        home=home,
        registry=registry,
        box=box,
        clock=clock,
        cache=cache,
        runtime=runtime if runtime is not None else local_runtime(home.path, clock),
        authenticator=authenticator
        or TokenAuthenticator(registry, box, required=settings.auth_required),
        policy=policy or RolePolicy(registry),
        apps=AppCatalog(registry),
        ordinals=OrdinalAllocator(registry),
        ports=PortAllocator(registry, socket.gethostname(), parse_range(settings.port_range)),
        directory=Directory(registry, clock=clock.monotonic),
        jobs=Jobs(clock),
        offsite=_offsite(settings),
        restic=_restic(settings, home),
    )
    ctx.runtime.listen(RuntimeEvents(ctx))
    await ctx.cache.listen(CacheDamageEvents(ctx))
    ctx.jobs.start(make(ctx) for make in jobs)
    return ctx


def _offsite(settings: Settings) -> S3Copies | None:
    """The bucket archives are copied to, if one is set (boto3 loaded only then)."""
    if settings.backup_s3 is None:
        return None
    from roost.s3_copies import S3Copies

    return S3Copies(
        settings.backup_s3,
        endpoint=settings.backup_s3_endpoint,
        region=settings.backup_s3_region,
    )


def _restic(settings: Settings, home: Home) -> Restic | None:
    """The restic target's repository, if one is set; its password in a file (made in
    the home, mode 0600, when none is given: keep a copy, without it nothing restores)."""
    if settings.backup_restic is None:
        return None
    from roost.restic import Restic

    password = settings.backup_restic_password_file or home.restic_password()
    return Restic(settings.backup_restic, password, home.path / "cache" / "restic")
