"""What the server knows of every instance's health, in memory: each service's recent
probe results (the registry keeps only each instance's outcome), and the services'
probe plans, kept until the instance changes."""

from __future__ import annotations

from datetime import datetime

from roost.domain.health import InstanceHealth
from roost.domain.model import Instance
from roost.runtime.plan import ServicePlan


class HealthBook:
    def __init__(self) -> None:
        self._health: dict[str, InstanceHealth] = {}
        self._plans: dict[str, tuple[datetime, list[ServicePlan]]] = {}

    def of(self, instance_id: str) -> InstanceHealth:
        known = self._health.get(instance_id)
        if known is None:
            known = self._health[instance_id] = InstanceHealth()
        return known

    def known(self, instance_id: str) -> InstanceHealth | None:
        return self._health.get(instance_id)

    def plans(self, instance: Instance) -> list[ServicePlan] | None:
        """The probe plans kept for ``instance`` as it is now (None: make them)."""
        kept = self._plans.get(instance.instance_id)
        return kept[1] if kept is not None and kept[0] == instance.updated_at else None

    def keep_plans(self, instance: Instance, plans: list[ServicePlan]) -> None:
        self._plans[instance.instance_id] = (instance.updated_at, plans)

    def stale(self, instance_id: str) -> None:
        """The instance changed: its plans are made anew at its next check."""
        self._plans.pop(instance_id, None)

    def drop(self, instance_id: str) -> None:
        self._health.pop(instance_id, None)
        self._plans.pop(instance_id, None)
