"""One cursor codec for every paged listing."""

from __future__ import annotations

import pytest

from roost.domain.cursors import decode_cursor, encode_cursor
from roost.domain.errors import InvalidInput


@pytest.mark.parametrize("position", ["i:42", "player/score", "héllo ✓", "", "a=b&c"])
def test_a_cursor_gives_back_its_position(position: str) -> None:
    cursor = encode_cursor(position)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # URL-safe
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize("cursor", ["!!!", "a", "////", "gA"])
def test_a_cursor_that_does_not_decode_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "INVALID_CURSOR"
