"""Page cursors: an opaque, URL-safe token for where the next page starts (pure).

Every paged listing (instances, cache keys, ...) hands its position through the one
codec here: base64url of the position's text, without padding. A cursor that does not
decode is 400 ``INVALID_CURSOR``.
"""

from __future__ import annotations

import base64
import binascii

from roost.domain.errors import InvalidInput


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_cursor(cursor) from None


def invalid_cursor(cursor: str) -> InvalidInput:
    return InvalidInput(f"invalid cursor {cursor!r}", code="INVALID_CURSOR")
