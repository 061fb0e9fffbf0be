"""``GET /metrics``: roost's own metrics (requests, latencies, data-plane traffic,
background jobs), then every instance's the caller may see (``services/
metrics_exposition.py``).

The instances' values are the sampler's latest (``ROOST_METRICS_INTERVAL``): a scrape
measures nothing itself, so it stays fast with a thousand instances.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.metrics import CONTENT_TYPE, Metrics
from roost.services import metrics as metric_reads
from roost.services.context import Context

router = APIRouter(tags=["metrics"], responses=ERROR_RESPONSES)


class JobCollector(Collector):
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("roost_job_runs", "Runs of each background job", labels=["job"])
        failures = CounterMetricFamily(
            "roost_job_failures", "Runs of each background job that failed", labels=["job"]
        )
        spent = CounterMetricFamily(
            "roost_job_seconds", "Time each background job spent running", labels=["job"]
        )
        for name, stats in sorted(self._ctx.jobs.stats().items()):
            runs.add_metric([name], stats.runs)
            failures.add_metric([name], stats.failures)
            spent.add_metric([name], stats.seconds)
        yield from (runs, failures, spent)


@router.get("/metrics", response_class=Response)
async def prometheus(request: Request, ctx: Ctx, caller: Caller) -> Response:
    """Prometheus text format: roost's requests, latencies and jobs, and each instance's
    CPU, memory, processes, disk, cache, health and services (to an admin every
    instance; to anyone else the ones they may see)."""
    instances = await metric_reads.exposition(ctx, caller)
    metrics: Metrics = request.app.state.metrics
    jobs = CollectorRegistry(auto_describe=False)
    jobs.register(JobCollector(ctx))
    return Response(metrics.render() + generate_latest(jobs) + instances, media_type=CONTENT_TYPE)
