"""Checks on user-supplied values that every storage backend can keep as given."""

from __future__ import annotations

import json
import math
from typing import Any

from roost.domain.errors import InvalidInput, TooLarge

MAX_JSON_DEPTH = 32
MAX_CONFIG_BYTES = 64 * 1024


def check_json_value(value: Any, *, field: str, depth: int = 0) -> None:
    """Refuse what JSON or PostgreSQL cannot store faithfully: NaN, infinities, NUL.

    The error code names the field: ``INVALID_CONFIG`` for ``field="config"``.
    """
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(f"{field} is nested too deeply", code=_code(field))
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} holds a non-finite number", code=_code(field))
    if isinstance(value, str):
        check_text(value, field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, field=field)
            check_json_value(item, field=field, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_value(item, field=field, depth=depth + 1)


def check_config_size(config: dict[str, Any]) -> None:
    """An instance's config is at most :data:`MAX_CONFIG_BYTES` of JSON (413 past it)."""
    size = len(json.dumps(config, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_CONFIG_BYTES:
        raise TooLarge(
            f"the config would be {size} bytes of JSON, over the limit of {MAX_CONFIG_BYTES}",
            code="CONFIG_TOO_LARGE",
            limit=MAX_CONFIG_BYTES,
        )


def check_text(value: str, *, field: str) -> None:
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character", code=_code(field))


def _code(field: str) -> str:
    return f"INVALID_{field.upper()}"


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch: objects merge recursively, ``null`` removes a key."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = value
    return result


def lookup_dotted(mapping: dict[str, Any], dotted: str) -> Any:
    """``config["quotas.x"]`` or ``config["quotas"]["x"]``: the flat key wins."""
    if dotted in mapping:
        return mapping[dotted]
    node: Any = mapping
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: objects merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def dotted_patch(dotted: str, value: Any) -> dict[str, Any]:
    """``"a.b", 1`` -> ``{"a": {"b": 1}}`` (a merge patch that sets or, with None, removes)."""
    parts = dotted.split(".")
    if not all(parts):
        raise InvalidInput(f"invalid config key {dotted!r}", code="INVALID_CONFIG_KEY")
    patch: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        patch = {part: patch}
    return patch
