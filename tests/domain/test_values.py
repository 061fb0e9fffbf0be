from __future__ import annotations

import pytest

from roost.domain.errors import InvalidInput
from roost.domain.values import check_json_value, lookup_dotted, merge_patch
from roost.quotas import DEFAULT_LIMIT, quota_limit


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1]}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}  # the input is not modified


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), "a\x00b", {"k\x00": 1}, [[float("-inf")]]]
)
def test_values_a_store_cannot_keep_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_json_value({"x": bad}, field="config")
    assert refused.value.code == "INVALID_CONFIG"


def test_deep_nesting_is_refused() -> None:
    value: object = 1
    for _ in range(40):
        value = [value]
    with pytest.raises(InvalidInput):
        check_json_value(value, field="config")


def test_dotted_lookup_prefers_the_flat_key() -> None:
    config = {"quotas.x": 5, "quotas": {"x": 7, "y": 9}}
    assert lookup_dotted(config, "quotas.x") == 5
    assert lookup_dotted(config, "quotas.y") == 9
    assert lookup_dotted(config, "quotas.z") is None


def test_quota_limit_order_instance_then_app_feature_then_app_default() -> None:
    assert quota_limit("f", {}, {}) == DEFAULT_LIMIT
    assert quota_limit("f", {}, {"default": 50}) == 50
    assert quota_limit("f", {}, {"default": 50, "f": 70}) == 70
    assert quota_limit("f", {"quotas": {"f": 5}}, {"default": 50, "f": 70}) == 5


@pytest.mark.parametrize("bad", [-1, "10", 1.5, True])
def test_a_malformed_quota_is_a_clear_error(bad: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        quota_limit("f", {"quotas": {"f": bad}}, {})
    assert refused.value.code == "INVALID_QUOTA"
