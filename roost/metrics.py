"""roost's own Prometheus metrics: data-plane traffic, control-plane requests and their
latencies. Per-instance metrics are added when ``/metrics`` is scraped
(``api/prometheus.py``), from the sampler's latest samples.

Data-plane traffic is counted here, never written as events. The hot path only adds
one to a plain dict entry; prometheus-client reads the dict when ``/metrics`` is scraped.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
        self.requests = Counter(
            "roost_http_requests",
            "Control-plane requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "roost_http_request_duration_seconds",
            "Control-plane request latency by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def timed(self, app: ASGIApp) -> ASGIApp:
        """``app``, with each request counted and timed by its route's template."""

        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status = 500
            began = time.perf_counter()

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                method = scope["method"] if scope["method"] in METHODS else "OTHER"
                self.requests.labels(method, route, str(status)).inc()
                self.latency.labels(method, route).observe(time.perf_counter() - began)

        return observed
