"""What a running roost holds open, as every use case sees it: plain wiring, no logic.

The parts are built (or handed in, by a test) in the composition root,
``roost.composition``; none of them knows the context. Use cases are functions that
take the context and an actor. Closing stops the runtime's watch (or its instances,
with ``stop_on_exit``), cancels the background jobs and closes the stores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from roost.auth import Authenticator, Policy
from roost.cache.backend import CacheBackend
from roost.domain.backups import Transfer
from roost.domain.clock import Clock
from roost.home import Home
from roost.jobs import Background, Jobs
from roost.registry.database import Registry
from roost.runtime.protocol import Runtime
from roost.secrets import SecretBox
from roost.services.alerts import AlertInbox
from roost.services.apps import AppCatalog
from roost.services.directory import Directory
from roost.services.health_book import HealthBook
from roost.services.locks import InstanceLocks
from roost.services.metrics_book import MetricsBook
from roost.services.ordinals import OrdinalAllocator
from roost.services.port_allocator import PortAllocator
from roost.settings import Settings

if TYPE_CHECKING:
    from roost.restic import Restic
    from roost.s3_copies import S3Copies

log = logging.getLogger("roost.context")


@dataclass
class Context:
    settings: Settings
    home: Home
    registry: Registry
    box: SecretBox
    clock: Clock
    cache: CacheBackend
    runtime: Runtime
    authenticator: Authenticator
    policy: Policy
    apps: AppCatalog
    ordinals: OrdinalAllocator
    ports: PortAllocator
    directory: Directory
    locks: InstanceLocks = field(default_factory=InstanceLocks)
    health: HealthBook = field(default_factory=HealthBook)
    metrics: MetricsBook = field(default_factory=MetricsBook)
    alerts: AlertInbox = field(default_factory=AlertInbox)
    jobs: Jobs = field(default_factory=Jobs)
    background: Background = field(default_factory=Background)
    offsite: S3Copies | None = None  # where archives are copied off the host
    restic: Restic | None = None  # the restic target's repository
    # backups under way, by (instance id, name): how far each is
    transfers: dict[tuple[str, str], Transfer] = field(default_factory=dict)

    def forget(self, instance_id: str) -> None:
        """The instance changed (state, config, owner, grants) or is gone: whatever holds
        it in memory reads it anew on its next use."""
        self.directory.forget(instance_id)
        self.policy.forget(instance_id)
        self.health.stale(instance_id)

    async def close(self) -> None:
        try:
            await self.runtime.close(stop_all=self.settings.stop_on_exit)
        except Exception:
            log.exception("the runtime did not close cleanly")
        await self.jobs.close()
        await self.cache.close()
        await self.registry.close()
