"""Durations as people write them: ``500ms``, ``10s``, ``2m``, ``1h``, ``7d``, or seconds."""

from __future__ import annotations

import re

from roost.domain.errors import InvalidInput

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$")


def parse_duration(value: str | float, *, field: str = "duration") -> float:
    """Seconds in ``value``."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a duration such as 10s", code="INVALID_DURATION")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.fullmatch(value)
        if match is None:
            raise InvalidInput(
                f"{field} must be a duration such as 500ms, 10s, 2m, got {value!r}",
                code="INVALID_DURATION",
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise InvalidInput(f"{field} must not be negative", code="INVALID_DURATION")
    return seconds
