"""Health, as a pure function of probe results over time.

A service's probe passes or fails each time it runs; its health moves only after enough
results in a row (``failures`` to become unhealthy, ``successes`` to become healthy, as
Kubernetes' thresholds), and failures within ``start_period`` of its start do not count
(Kubernetes' startup probe). An instance's health is the worst of its services':
error > unhealthy > unknown > healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from roost.domain.states import Health

SEVERITY = {Health.HEALTHY: 0, Health.UNKNOWN: 1, Health.UNHEALTHY: 2, Health.ERROR: 3}


@dataclass(frozen=True)
class Thresholds:
    failures: int = 3  # failures in a row before unhealthy
    successes: int = 1  # successes in a row before healthy
    start_period: float = 0.0  # seconds after a start during which failures do not count


@dataclass(frozen=True)
class ProbeResult:
    """One run of a probe: passed or not, how long it took, and why it failed.
    ``ran`` is False when the probe could not run at all (a missing command, a template
    that does not render): that is an error, not a failure of the service."""

    passed: bool
    latency_ms: float
    error: str | None = None
    ran: bool = True


@dataclass
class ServiceHealth:
    """What is known of one service's health; :meth:`observe` folds in each result."""

    health: Health = Health.UNKNOWN
    failures_in_a_row: int = 0
    successes_in_a_row: int = 0
    last: ProbeResult | None = None
    checked_at: float | None = None
    error: str | None = None
    run: int | None = None  # the process this is about (its pid): a new one starts afresh

    def observe(
        self, result: ProbeResult, thresholds: Thresholds, *, at: float, since_start: float | None
    ) -> None:
        """Fold in ``result``, seen at ``at``, ``since_start`` seconds after the service's
        process started (None: it does not run)."""
        self.last, self.checked_at = result, at
        if not result.ran:
            self.health, self.error = Health.ERROR, result.error
            self.failures_in_a_row, self.successes_in_a_row = self.failures_in_a_row + 1, 0
            return
        if result.passed:
            self.successes_in_a_row += 1
            self.failures_in_a_row = 0
            if self.successes_in_a_row >= thresholds.successes:
                self.health, self.error = Health.HEALTHY, None
            return
        self.successes_in_a_row = 0
        if since_start is not None and since_start < thresholds.start_period:
            return  # still starting: a failure does not count yet
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= thresholds.failures:
            self.health, self.error = Health.UNHEALTHY, result.error
        elif self.health is Health.ERROR:
            self.health = Health.UNKNOWN  # it runs again; not known healthy yet

    def gone(self, reason: str, *, at: float) -> None:
        """The service's processes are gone while the instance should be active."""
        self.health, self.error, self.checked_at = Health.ERROR, reason, at
        self.successes_in_a_row = 0

    def view(self) -> dict[str, Any]:
        last = self.last
        return {
            "health": self.health.value,
            "error": self.error,
            "latency_ms": None if last is None else round(last.latency_ms, 3),
            "passed": None if last is None else last.passed,
            "failures_in_a_row": self.failures_in_a_row,
        }


def worst(healths: Iterable[Health]) -> Health:
    """An instance's health from its services' (``unknown`` when it has none)."""
    return max(healths, key=SEVERITY.__getitem__, default=Health.UNKNOWN)


@dataclass
class InstanceHealth:
    """One instance's health as the last check left it."""

    health: Health = Health.UNKNOWN
    error: str | None = None
    checked_at: float | None = None
    services: dict[str, ServiceHealth] = field(default_factory=dict)
    checks: int = 0  # counted since this server began checking it, for the metrics
    failed_checks: int = 0  # checks where a probe failed or could not run, or all was gone

    def settle(self, at: float) -> None:
        """The instance's health and error from its services', after a check at ``at``."""
        self.checked_at = at
        if self.services:
            self.checks += 1
            self.failed_checks += any(
                s.checked_at == at
                and (s.health is Health.ERROR or s.last is None or not s.last.passed)
                for s in self.services.values()
            )
        self.health = worst(s.health for s in self.services.values())
        failing = [
            f"{name}: {s.error}"
            for name, s in sorted(self.services.items())
            if s.health is self.health and s.error
        ]
        self.error = ("; ".join(failing) or None) if self.health is not Health.HEALTHY else None
