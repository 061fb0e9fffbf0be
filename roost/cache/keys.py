"""Cache keys: any UTF-8 text of 1 to 1,024 bytes, compared as bytes."""

from __future__ import annotations

from roost.domain.errors import InvalidInput

MAX_KEY_BYTES = 1024


def check_key(key: str) -> bytes:
    """The key's UTF-8 bytes, or 400 ``INVALID_KEY``."""
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("cache key is not valid UTF-8", code="INVALID_KEY") from None
    if not encoded or len(encoded) > MAX_KEY_BYTES:
        raise InvalidInput(
            f"cache key must be 1 to {MAX_KEY_BYTES} bytes of UTF-8, got {len(encoded)}",
            code="INVALID_KEY",
        )
    if "\x00" in key:
        raise InvalidInput("cache key contains a NUL character", code="INVALID_KEY")
    return encoded
