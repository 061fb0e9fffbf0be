"""Per-instance feature quotas (seed 000): which limit applies, and what a use leaves.

Limits come from the instance's config key ``quotas.<feature_id>``, else the app's
``quotas`` table (the feature, then ``default``), else :data:`DEFAULT_LIMIT`. Quotas never
reset by themselves.
"""

from __future__ import annotations

from typing import Any

from roost.domain.errors import InvalidInput
from roost.domain.values import lookup_dotted

DEFAULT_LIMIT = 1000


def quota_limit(
    feature_id: str, instance_config: dict[str, Any], app_quotas: dict[str, Any]
) -> int:
    for candidate in (
        lookup_dotted(instance_config, f"quotas.{feature_id}"),
        app_quotas.get(feature_id),
        app_quotas.get("default"),
    ):
        if candidate is None:
            continue
        if isinstance(candidate, bool) or not isinstance(candidate, int) or candidate < 0:
            raise InvalidInput(
                f"quota for feature {feature_id!r} must be a whole number >= 0, got {candidate!r}",
                code="INVALID_QUOTA",
            )
        return candidate
    return DEFAULT_LIMIT
