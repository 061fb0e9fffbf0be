"""A namespace's snapshot as a file, as backups carry it: one JSON object a line,
``{"k": key, "v": base64 of the value, "x": expiry in epoch ms or 0}``, in key order."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable

from roost.cache.backend import Item
from roost.cache.keys import check_key
from roost.domain.errors import InvalidInput


def dump_items(items: Iterable[Item]) -> bytes:
    return b"".join(
        json.dumps(
            {"k": item.key, "v": base64.b64encode(item.value).decode(), "x": item.expires_ms},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        + b"\n"
        for item in items
    )


def load_items(data: bytes) -> list[Item]:
    """The items of a dump; ValueError saying which line is wrong."""
    items = []
    for number, line in enumerate(data.splitlines(), 1):
        try:
            record = json.loads(line)
            key, value, expires = record["k"], record["v"], record["x"]
            if not isinstance(key, str) or not isinstance(expires, int) or expires < 0:
                raise ValueError("a key must be a string and its expiry a whole number")
            check_key(key)
            items.append(Item(key, base64.b64decode(value, validate=True), expires))
        except (KeyError, TypeError, ValueError, binascii.Error, InvalidInput) as exc:
            raise ValueError(f"line {number} of the cache dump: {exc}") from None
    return items
