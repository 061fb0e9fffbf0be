"""Metric samples of an instance, and the rules that keep them small (pure).

A sample is one row: when it was taken, how many seconds it covers (``span``), and a
value per metric. Gauges (what the instance uses now) are averaged when samples are
merged; counts (what happened during the span: restarts, cache operations, checks)
are summed. Older samples are merged into buckets (1-minute averages after a day by
default) and dropped after the retention (7 days).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from roost.domain.errors import InvalidInput

GAUGES = (
    "up",  # 1 while every service runs (or it has none to run), else 0
    "cpu_percent",  # of one core, averaged over the span
    "memory_bytes",
    "processes",
    "uptime_s",
    "disk_bytes",
    "cache_keys",
    "cache_bytes",
    "probe_latency_ms",
)
COUNTS = ("restarts", "cache_ops", "health_checks", "health_failures")
METRICS = GAUGES + COUNTS
UNITS = {
    "up": "",
    "cpu_percent": "%",
    "memory_bytes": "bytes",
    "processes": "",
    "uptime_s": "s",
    "disk_bytes": "bytes",
    "cache_keys": "",
    "cache_bytes": "bytes",
    "probe_latency_ms": "ms",
    "restarts": "",
    "cache_ops": "",
    "health_checks": "",
    "health_failures": "",
}
SCRAPED_SEPARATOR = ":"  # a service's own metric is kept as "<service>:<its name>"
MAX_SCRAPED = 200  # of one service, per sample
MAX_NAME = 300  # characters of a scraped metric's name with its labels
DAY_S = 86_400


@dataclass(frozen=True)
class Sample:
    t: float  # unix time at the start of what it covers
    span: float  # seconds
    values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Retention:
    keep_s: float = 7 * DAY_S
    raw_for_s: float = DAY_S  # then merged into buckets of ``bucket_s``
    bucket_s: int = 60

    def cutoffs(self, now: float) -> tuple[float, float]:
        """(drop what starts before, merge the raw samples that start before)."""
        return now - self.keep_s, now - self.raw_for_s


def is_count(name: str) -> bool:
    return name in COUNTS


def merge(samples: Sequence[Sample], bucket_s: float) -> list[Sample]:
    """One sample per ``bucket_s`` of time: gauges averaged (weighted by span), counts
    and spans summed. A metric missing from some samples is averaged over the others."""
    if bucket_s <= 0:
        return list(samples)
    buckets: dict[int, list[Sample]] = {}
    for sample in samples:
        buckets.setdefault(int(sample.t // bucket_s), []).append(sample)
    merged = []
    for number, members in sorted(buckets.items()):
        totals: dict[str, float] = {}
        weights: dict[str, float] = {}
        for sample in members:
            weight = sample.span or 1.0
            for name, value in sample.values.items():
                if is_count(name):
                    totals[name] = totals.get(name, 0.0) + value
                else:
                    totals[name] = totals.get(name, 0.0) + value * weight
                    weights[name] = weights.get(name, 0.0) + weight
        values = {
            name: total if is_count(name) else total / weights[name]
            for name, total in totals.items()
        }
        merged.append(Sample(number * bucket_s, sum(s.span for s in members), values))
    return merged


def series(
    samples: Sequence[Sample], names: Iterable[str] | None = None, step: float = 0
) -> dict[str, list[list[float]]]:
    """``{name: [[unix_time, value], ...]}`` over ``samples`` (in time order), merged to
    one point per ``step`` seconds when a step is given. Without names: every metric."""
    points = merge(samples, step)
    wanted = list(names) if names else _names_in(points)
    out: dict[str, list[list[float]]] = {name: [] for name in wanted}
    for sample in points:
        for name in wanted:
            value = sample.values.get(name)
            if value is not None:
                out[name].append([sample.t, round(value, 3)])
    return out


def _names_in(samples: Sequence[Sample]) -> list[str]:
    seen = {name for sample in samples for name in sample.values}
    known = [name for name in METRICS if name in seen]
    return known + sorted(seen - set(METRICS))


def cpu_percent(before: tuple[float, float] | None, now: tuple[float, float]) -> float | None:
    """Percent of one core between two readings of (monotonic time, cpu seconds); None
    for a first reading. A counter that went back (a process restarted) starts over."""
    if before is None:
        return None
    elapsed = now[0] - before[0]
    used = now[1] - before[1]
    if elapsed <= 0 or used < 0:
        return None
    return 100.0 * used / elapsed


def check_names(names: Iterable[str]) -> list[str]:
    """Metric names as a query gives them; each must be one roost keeps or a scraped
    one (``service:metric``)."""
    checked = []
    for name in names:
        if len(name) > MAX_NAME or (name not in METRICS and SCRAPED_SEPARATOR not in name):
            known = ", ".join(METRICS)
            raise InvalidInput(
                f"unknown metric {name!r}: one of {known}, or service:metric",
                code="UNKNOWN_METRIC",
            )
        checked.append(name)
    return checked


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 30) -> str:
    """The last ``width`` values as block characters scaled to their own range."""
    shown = list(values)[-width:]
    if not shown:
        return ""
    low, high = min(shown), max(shown)
    if high - low < 1e-12:
        return SPARKS[0] * len(shown)
    top = len(SPARKS) - 1
    return "".join(SPARKS[round((v - low) / (high - low) * top)] for v in shown)
