"""The records roost keeps, as frozen dataclasses (what the registry returns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roost.domain.states import Health, State


@dataclass(frozen=True)
class App:
    pk: int
    name: str
    version: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    product: str | None = None  # seed 000: the product it holds the registrations of

    @property
    def bare(self) -> bool:
        """A bare app has no services: its instances are records and namespaces only."""
        return not self.spec.get("services")

    @property
    def quotas(self) -> dict[str, Any]:
        quotas = self.spec.get("quotas") or {}
        return quotas if isinstance(quotas, dict) else {}


@dataclass(frozen=True)
class Instance:
    pk: int
    instance_id: str
    app: str
    app_pk: int
    version: str
    name: str
    ordinal: int
    state: State
    health: Health
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()
    ports: dict[str, int] = field(default_factory=dict)
    owner: str | None = None
    error: str | None = None
    previous_state: State | None = None
    health_error: str | None = None
    last_active_at: datetime | None = None
    last_health_check: datetime | None = None


@dataclass(frozen=True)
class NewInstance:
    """What a create writes; the registry fills in the primary key."""

    instance_id: str
    app_pk: int
    version: str
    name: str
    ordinal: int
    state: State
    config: dict[str, Any]
    tags: tuple[str, ...]
    owner: str | None
    created_at: datetime
    ports: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    pk: int
    at: datetime
    actor: str
    action: str
    outcome: str
    instance_id: str | None
    app: str | None
    details: dict[str, Any] = field(default_factory=dict)
    token: str | None = None  # the id of the token the actor used


@dataclass(frozen=True)
class InstanceFilter:
    app: str | None = None
    version: str | None = None
    state: State | None = None
    health: Health | None = None
    tags: tuple[str, ...] = ()
    q: str | None = None
    # only what one user may see: what it owns or was given, within a token's scope
    visible_to: str | None = None
    within_instances: frozenset[str] | None = None
    within_apps: frozenset[str] | None = None
    products_only: bool = False  # only registrations of seed 000's products
