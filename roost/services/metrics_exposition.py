"""Every instance's latest sample in Prometheus' text format, labelled
``instance_id``, ``app`` and (per service) ``service``.

Rendering a thousand instances takes tens of milliseconds, so the sampler renders them
once per round, off the event loop, and ``GET /metrics`` serves that (to an admin);
for a caller who may see only some instances they are rendered when asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from roost.services.context import Context
from roost.services.metrics_book import Latest

INSTANCE = ["instance_id", "app"]
SERVICE = ["instance_id", "app", "service"]


class InstanceCollector(Collector):
    def __init__(
        self, latest: list[Latest], health: Mapping[str, str], visible: set[str] | None
    ) -> None:
        self._latest = latest
        self._health = health
        self._visible = visible

    def collect(self) -> Iterator[Metric]:
        def gauge(name: str, text: str, labels: list[str] = INSTANCE) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=labels)

        def counter(name: str, text: str, labels: list[str] = INSTANCE) -> CounterMetricFamily:
            return CounterMetricFamily(name, text, labels=labels)

        info = gauge(
            "roost_instance_info", "1 for every running instance", [*INSTANCE, "measured_by"]
        )
        health = gauge(
            "roost_instance_health", "1 for the instance's health", [*INSTANCE, "health"]
        )
        cpu = counter("roost_instance_cpu_seconds", "CPU time of the instance's processes")
        memory = gauge("roost_instance_memory_bytes", "Memory (cgroup usage, else RSS)")
        processes = gauge("roost_instance_processes", "Processes of the instance")
        disk = gauge("roost_instance_disk_bytes", "Disk bytes of the instance's directory")
        keys = gauge("roost_instance_cache_keys", "Keys in the instance's cache namespace")
        cached = gauge("roost_instance_cache_bytes", "Bytes in the instance's cache namespace")
        ops = counter("roost_instance_cache_operations", "Data-plane requests served")
        checks = counter("roost_instance_health_checks", "Health checks run")
        failed = counter("roost_instance_health_check_failures", "Health checks that failed")
        latency = gauge("roost_instance_probe_latency_seconds", "Mean latency of the last probes")
        up = gauge("roost_service_up", "1 while the service runs", SERVICE)
        service_cpu = counter("roost_service_cpu_seconds", "CPU time of the service", SERVICE)
        service_memory = gauge("roost_service_memory_bytes", "RSS of the service", SERVICE)
        restarts = counter("roost_service_restarts", "Restarts of the service", SERVICE)
        uptime = gauge("roost_service_uptime_seconds", "Since the service started", SERVICE)
        for latest in self._latest:
            if self._visible is not None and latest.instance_id not in self._visible:
                continue
            labels = [latest.instance_id, latest.app]
            usage, values, totals = latest.usage, latest.values, latest.totals
            info.add_metric([*labels, usage.source], 1)
            if latest.instance_id in self._health:
                health.add_metric([*labels, self._health[latest.instance_id]], 1)
            cpu.add_metric(labels, usage.cpu_seconds)
            memory.add_metric(labels, usage.memory_bytes)
            processes.add_metric(labels, usage.processes)
            if "disk_bytes" in values:
                disk.add_metric(labels, values["disk_bytes"])
            keys.add_metric(labels, values.get("cache_keys", 0))
            cached.add_metric(labels, values.get("cache_bytes", 0))
            ops.add_metric(labels, totals.cache_ops)
            checks.add_metric(labels, totals.health_checks)
            failed.add_metric(labels, totals.failed_checks)
            if "probe_latency_ms" in values:
                latency.add_metric(labels, values["probe_latency_ms"] / 1000)
            for service in usage.services:
                at = [*labels, service.service]
                up.add_metric(at, 1 if service.status == "running" else 0)
                service_cpu.add_metric(at, service.cpu_seconds or 0.0)
                service_memory.add_metric(at, service.rss_bytes or 0)
                restarts.add_metric(at, service.restarts)
                uptime.add_metric(at, service.uptime_s or 0.0)
        yield from (info, health, cpu, memory, processes, disk, keys, cached, ops, checks)
        yield from (failed, latency, up, service_cpu, service_memory, restarts, uptime)


def render_instances(
    latest: list[Latest], health: Mapping[str, str], visible: set[str] | None = None
) -> bytes:
    """The text of ``latest`` (of the ``visible`` instances; None: all), ``health``
    being each instance's health by id."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InstanceCollector(latest, health, visible))
    return generate_latest(registry)


def health_by_id(ctx: Context) -> dict[str, str]:
    """Each sampled instance's health as this server last saw it."""
    found = {}
    for latest in ctx.metrics.all():
        known = ctx.health.known(latest.instance_id)
        if known is not None:
            found[latest.instance_id] = known.health.value
    return found
