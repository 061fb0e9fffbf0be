"""An instance's resource limits: the app's ``[limits]`` under the instance's config
``limits`` (pure). ``memory`` in bytes, ``cpu`` in cores (0.5 is half of one), ``pids``
the most processes at once; each applies to the whole instance, all services together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roost.domain.errors import InvalidInput
from roost.domain.sizes import parse_size
from roost.domain.spec import LimitsSpec


@dataclass(frozen=True)
class Limits:
    memory: int | None = None
    cpu: float | None = None
    pids: int | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.memory, self.cpu, self.pids))

    def as_dict(self) -> dict[str, float | int | None]:
        return {"memory": self.memory, "cpu": self.cpu, "pids": self.pids}


def effective_limits(spec: LimitsSpec, config: Mapping[str, Any]) -> Limits:
    """The spec's limits, with what the instance's config ``limits`` sets instead."""
    overrides = config.get("limits") or {}
    if not isinstance(overrides, Mapping):
        raise InvalidInput("config limits must be an object", code="INVALID_LIMITS")
    unknown = set(overrides) - {"memory", "cpu", "pids"}
    if unknown:
        raise InvalidInput(
            f"config limits has unknown keys {sorted(unknown)} (memory, cpu, pids)",
            code="INVALID_LIMITS",
        )
    memory = overrides.get("memory", spec.memory)
    cpu = overrides.get("cpu", spec.cpu)
    pids = overrides.get("pids", spec.pids)
    if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, int | float) or cpu <= 0):
        raise InvalidInput("limits.cpu must be a number of cores above 0", code="INVALID_LIMITS")
    if pids is not None and (isinstance(pids, bool) or not isinstance(pids, int) or pids < 1):
        raise InvalidInput("limits.pids must be a whole number from 1", code="INVALID_LIMITS")
    return Limits(
        memory=None if memory is None else parse_size(memory, field="limits.memory"),
        cpu=None if cpu is None else float(cpu),
        pids=pids,
    )
