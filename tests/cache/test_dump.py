"""The cache dump a backup carries: what goes in comes out, and a damaged line is named."""

from __future__ import annotations

import pytest

from roost.cache.backend import Item
from roost.cache.dump import dump_items, load_items


def test_items_come_back_exactly() -> None:
    items = [Item("a", b""), Item("é/ключ", bytes(range(256)), 1_800_000_000_000), Item("z", b"\n")]
    data = dump_items(items)
    assert data.count(b"\n") == 3
    assert load_items(data) == items
    assert load_items(b"") == []


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (b"not json", "line 2"),
        (b'{"k": "a"}', "line 2"),
        (b'{"k": "", "v": "", "x": 0}', "cache key"),
        (b'{"k": "a", "v": "!!", "x": 0}', "line 2"),
        (b'{"k": "a", "v": "", "x": -1}', "whole number"),
        (b'{"k": 5, "v": "", "x": 0}', "string"),
    ],
)
def test_a_damaged_line_is_named(line: bytes, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        load_items(dump_items([Item("fine", b"1")]) + line + b"\n")
