"""Sizes as people write them: ``512M``, ``8GB``, ``100GiB``, ``1048576``."""

from __future__ import annotations

import re

from roost.domain.errors import InvalidInput

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(value: str | int, *, field: str = "size") -> int:
    """Bytes in ``value``; units are binary (``8GB`` is 8 GiB, as Docker and systemd read it)."""
    if isinstance(value, bool):
        raise InvalidInput(
            f"{field} must be a size such as 512M, got {value!r}", code="INVALID_SIZE"
        )
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"{field} must not be negative", code="INVALID_SIZE")
        return value
    match = _SIZE.fullmatch(str(value))
    if match is None:
        raise InvalidInput(
            f"{field} must be a size such as 512M, got {value!r}", code="INVALID_SIZE"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
