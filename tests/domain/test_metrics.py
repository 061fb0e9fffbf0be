"""Merging samples (gauges averaged by span, counts summed), series, CPU from two
readings, metric names, the retention's cutoffs and sparklines."""

from __future__ import annotations

import pytest

from roost.domain.errors import InvalidInput
from roost.domain.metrics import (
    DAY_S,
    Retention,
    Sample,
    check_names,
    cpu_percent,
    merge,
    series,
    sparkline,
)


def test_merge_averages_gauges_by_span_and_sums_counts() -> None:
    samples = [
        Sample(60, 15, {"cpu_percent": 10, "restarts": 1, "web:hits": 4}),
        Sample(75, 45, {"cpu_percent": 50, "restarts": 2, "cache_ops": 7}),
        Sample(120, 15, {"cpu_percent": 99}),
    ]
    first, second = merge(samples, 60)
    assert (first.t, first.span) == (60, 60)
    assert first.values["cpu_percent"] == pytest.approx((10 * 15 + 50 * 45) / 60)
    assert first.values["restarts"] == 3  # a count: summed
    assert first.values["cache_ops"] == 7  # only one sample had it
    assert first.values["web:hits"] == 4  # a scraped gauge, averaged over who had it
    assert (second.t, second.span, dict(second.values)) == (120, 15, {"cpu_percent": 99})


def test_merge_without_a_bucket_keeps_every_sample() -> None:
    samples = [Sample(1, 1, {"processes": 1}), Sample(2, 1, {"processes": 2})]
    assert merge(samples, 0) == samples


def test_series_lists_points_per_name_with_or_without_a_step() -> None:
    samples = [Sample(t, 10, {"memory_bytes": t, "restarts": 1}) for t in (0, 10, 20, 30)]
    raw = series(samples, ["memory_bytes"])
    assert raw == {"memory_bytes": [[0, 0], [10, 10], [20, 20], [30, 30]]}
    stepped = series(samples, None, 20)
    assert stepped == {
        "memory_bytes": [[0, 5], [20, 25]],
        "restarts": [[0, 2], [20, 2]],
    }
    assert series([], ["cpu_percent"]) == {"cpu_percent": []}


def test_cpu_percent_from_two_readings() -> None:
    assert cpu_percent(None, (10.0, 5.0)) is None
    assert cpu_percent((10.0, 5.0), (12.0, 6.0)) == pytest.approx(50.0)
    assert cpu_percent((10.0, 5.0), (11.0, 7.0)) == pytest.approx(200.0)  # two cores
    assert cpu_percent((10.0, 5.0), (11.0, 1.0)) is None  # restarted: the counter went back
    assert cpu_percent((10.0, 5.0), (10.0, 6.0)) is None


def test_names_must_be_known_or_scraped() -> None:
    assert check_names(["cpu_percent", "web:http_requests_total"]) == [
        "cpu_percent",
        "web:http_requests_total",
    ]
    with pytest.raises(InvalidInput) as refused:
        check_names(["cpu"])
    assert refused.value.code == "UNKNOWN_METRIC"
    with pytest.raises(InvalidInput):
        check_names(["web:" + "x" * 400])


def test_retention_cutoffs() -> None:
    assert Retention().cutoffs(10 * DAY_S) == (3 * DAY_S, 9 * DAY_S)
    assert Retention(keep_s=3600, raw_for_s=60).cutoffs(7200) == (3600, 7140)


def test_sparkline_scales_to_its_range() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([]) == ""
    assert len(sparkline(list(range(100)), width=10)) == 10
