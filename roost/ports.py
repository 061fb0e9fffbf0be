"""Port planning: which port each of an instance's named ports should get (pure).

An integer in the spec is a base, offset by the ordinal (seed 004: base + N * stride);
``"auto"`` is the first free port in ``ROOST_PORT_RANGE``; ``{fixed = N}`` is the same
port for every instance; an explicit port given at create wins over all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from roost.domain.errors import InvalidInput
from roost.domain.spec import FixedPort, PortSpec

DEFAULT_RANGE = "20000-29999"
Kind = Literal["offset", "fixed", "explicit", "auto"]


@dataclass(frozen=True)
class Wanted:
    name: str
    kind: Kind
    port: int | None  # None for "auto"


def plan_ports(
    spec: Mapping[str, PortSpec], *, stride: int, ordinal: int, explicit: Mapping[str, int]
) -> list[Wanted]:
    unknown = sorted(set(explicit) - set(spec))
    if unknown:
        raise InvalidInput(
            f"the app declares no port named {', '.join(map(repr, unknown))}",
            code="UNKNOWN_PORT",
            ports=unknown,
        )
    planned: list[Wanted] = []
    for name, declared in spec.items():
        if name in explicit:
            wanted = Wanted(name, "explicit", explicit[name])
        elif isinstance(declared, FixedPort):
            wanted = Wanted(name, "fixed", declared.fixed)
        elif declared == "auto":
            wanted = Wanted(name, "auto", None)
        else:
            wanted = Wanted(name, "offset", declared + ordinal * stride)
        if wanted.port is not None and not 1 <= wanted.port <= 65535:
            raise InvalidInput(
                f"port {name!r} would be {wanted.port} ({wanted.kind}), outside 1-65535",
                code="PORT_OUT_OF_RANGE",
                port=wanted.port,
                name=name,
            )
        planned.append(wanted)
    return planned


def parse_range(text: str) -> range:
    """``"20000-29999"`` -> range(20000, 30000)."""
    low, sep, high = text.partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise InvalidInput(f"a port range is LOW-HIGH, got {text!r}", code="INVALID_PORT_RANGE")
    first, last = int(low), int(high)
    if not 1 <= first <= last <= 65535:
        raise InvalidInput(f"invalid port range {text!r}", code="INVALID_PORT_RANGE")
    return range(first, last + 1)
