from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.domain.errors import InvalidInput
from roost.domain.ids import (
    ID_PATTERN,
    MAX_ORDINAL,
    new_instance_id,
    ordinal_of_id,
    validate_app_name,
    validate_instance_id,
)


@pytest.mark.parametrize(
    "good",
    ["default", "0", "42", "a", "pvp-server_2", "x" * 63, "550e8400-e29b-41d4-a716-446655440000"],
)
def test_valid_ids_pass(good: str) -> None:
    assert validate_instance_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "Upper",
        "-lead",
        "_lead",
        "has space",
        "dot.ted",
        "slash/x",
        "x" * 64,
        "é",
        "a\x00",
        "a:b",
        str(MAX_ORDINAL + 1),
    ],
)
def test_invalid_ids_are_400_invalid_instance_id(bad: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_instance_id(bad)
    assert refused.value.code == "INVALID_INSTANCE_ID"
    assert refused.value.status == 400


def test_generated_ids_are_uuid4_and_valid() -> None:
    ids = {new_instance_id() for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        assert validate_instance_id(value) == value
        assert value[14] == "4"


@pytest.mark.parametrize(
    ("text", "ordinal"), [("0", 0), ("7", 7), ("100", 100), ("007", None), ("a1", None)]
)
def test_integer_ids_name_their_ordinal(text: str, ordinal: int | None) -> None:
    assert ordinal_of_id(text) == ordinal


def test_app_names_follow_the_id_rule_with_their_own_code() -> None:
    assert validate_app_name("my-product") == "my-product"
    with pytest.raises(InvalidInput) as refused:
        validate_app_name("ProductA", code="INVALID_PRODUCT_ID")
    assert refused.value.code == "INVALID_PRODUCT_ID"


@given(st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda s: len(s) < 10 or not s.isdigit()))
def test_everything_the_pattern_matches_is_accepted(value: str) -> None:
    assert validate_instance_id(value) == value
