"""Prometheus metrics at ``GET /metrics``.

Data-plane traffic is counted here, never written as events. The hot path only adds
one to a plain dict entry; prometheus-client reads the dict when ``/metrics`` is scraped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class CacheTraffic(Collector):
    """Data-plane requests by operation and outcome (``ok`` or the error code)."""

    def __init__(self) -> None:
        self.counts: defaultdict[tuple[str, str], int] = defaultdict(int)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "roost_cache_requests",
            "Data plane (/v1/cache) requests by operation and outcome.",
            labels=["operation", "outcome"],
        )
        for (operation, outcome), count in sorted(self.counts.items()):
            family.add_metric([operation, outcome], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.cache = CacheTraffic()
        self.registry.register(self.cache)

    def render(self) -> bytes:
        return generate_latest(self.registry)
