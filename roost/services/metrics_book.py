"""The latest sample of every running instance, in memory: what ``GET /metrics`` and
``roost top`` show without measuring anything themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from roost.runtime.protocol import InstanceUsage


@dataclass(frozen=True)
class Totals:
    """Counters since this server began watching the instance."""

    cache_ops: int = 0
    health_checks: int = 0
    failed_checks: int = 0


@dataclass(frozen=True)
class Latest:
    instance_id: str
    app: str
    taken_at: float  # unix time
    usage: InstanceUsage
    values: Mapping[str, float]  # the sample as stored (gauges and counts of its span)
    totals: Totals = Totals()
    scraped: Mapping[str, float] = field(default_factory=dict)


class MetricsBook:
    def __init__(self) -> None:
        self._latest: dict[str, Latest] = {}
        self._readings: dict[str, tuple[float, float]] = {}  # top's: (monotonic, cpu s)
        self.exposition: bytes | None = None  # every instance's, rendered after each round

    def reading(self, instance_id: str, at: float, cpu_s: float) -> tuple[float, float] | None:
        """The previous (time, CPU seconds) ``roost top`` saw of the instance; keeps
        this one for the next."""
        before = self._readings.get(instance_id)
        self._readings[instance_id] = (at, cpu_s)
        return before

    def keep(self, latest: Latest) -> None:
        self._latest[latest.instance_id] = latest

    def of(self, instance_id: str) -> Latest | None:
        return self._latest.get(instance_id)

    def all(self) -> list[Latest]:
        return list(self._latest.values())

    def keep_only(self, instance_ids: set[str]) -> None:
        """Forget the instances that no longer run."""
        for gone in self._latest.keys() - instance_ids:
            del self._latest[gone]
        for gone in self._readings.keys() - instance_ids:
            del self._readings[gone]
