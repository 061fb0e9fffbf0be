"""What the supervisor runs for an instance: one plan per service, in start order (pure).

A plan holds the rendered argv, the full environment the process gets (DESIGN.md's list,
secrets included: a plan is never written to disk), the working directory, the log file,
the restart policy, the timeouts, the ports that must listen, and the health probe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from roost.domain.health import Thresholds
from roost.domain.layout import log_file
from roost.domain.model import Instance
from roost.domain.probe_spec import HealthSpec
from roost.domain.spec import AppSpec
from roost.domain.templates import render
from roost.files import base_environment, service_environment, template_context
from roost.runtime.limits import Limits, effective_limits

# What a service inherits from the server's own environment; nothing else leaks in.
INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "LOGNAME", "TMPDIR")


@dataclass(frozen=True)
class Probe:
    kind: Literal["http", "tcp", "command"]
    url: str | None = None  # http
    port: int | None = None  # tcp
    host: str = "127.0.0.1"  # tcp
    command: tuple[str, ...] = ()  # command
    interval: float = 10.0
    timeout: float = 2.0
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class ServicePlan:
    instance_id: str
    service: str
    argv: tuple[str, ...]
    cwd: Path
    log: Path
    env: Mapping[str, str] = field(repr=False)  # holds secrets: never printed
    restart: Literal["always", "on-failure", "no"] = "on-failure"
    stop_timeout: float = 10.0
    start_timeout: float = 30.0
    ports: tuple[int, ...] = ()
    probe: Probe | None = None
    depends_on: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)  # the instance's, all services together
    restart_on_unhealthy: int | None = None  # failures in a row that restart the service
    metrics_url: str | None = None  # where the service serves its own Prometheus text

    @property
    def health_probe(self) -> Probe | None:
        """What health checks run: the declared probe, else a connect to the first port
        (None: nothing to probe)."""
        if self.probe is not None:
            return self.probe
        return Probe("tcp", port=self.ports[0]) if self.ports else None

    @property
    def unit(self) -> str:
        """Seed 003's ``service@instance`` name."""
        return f"{self.service}@{self.instance_id}"


def plan_instance(
    instance: Instance,
    spec: AppSpec,
    config: Mapping[str, Any],
    directory: Path,
    secrets: Mapping[str, str],
    cache_url: str,
    inherited: Mapping[str, str],
    *,
    cache_token: str | None = None,
) -> list[ServicePlan]:
    """Every service of the instance, in ``depends_on`` order; ``cache_token``, the
    instance's own data-plane token, goes into each process's environment (like the
    secrets, never into a file)."""
    base = base_environment(instance, spec, config, directory, cache_url)
    outer = {key: inherited[key] for key in INHERITED if key in inherited}
    limits = effective_limits(spec.limits, config)
    plans = []
    for name in spec.start_order():
        definition = spec.services[name]
        listed = definition.listed_secrets(secrets)
        context = template_context(instance, spec, config, directory, listed)
        where = f"services.{name}"
        argv = [
            render(part, context, where=f"{where}.command[{i}]")
            for i, part in enumerate(definition.command)
        ]
        if "/" in argv[0] and not argv[0].startswith("/"):
            argv[0] = str(directory / argv[0])  # a relative executable lives in the instance
        env = {
            **outer,
            **service_environment(base, instance, spec, name, config, directory, listed),
        }
        if cache_token is not None:
            env["ROOST_CACHE_TOKEN"] = cache_token
        plans.append(
            ServicePlan(
                instance_id=instance.instance_id,
                service=name,
                argv=tuple(argv),
                cwd=directory,
                log=directory / log_file(name),
                env=env,
                restart=definition.restart,
                stop_timeout=definition.stop_timeout,
                start_timeout=definition.start_timeout,
                ports=tuple(instance.ports[p] for p in spec.service_ports(name)),
                probe=_probe(spec, name, context, instance.ports),
                depends_on=tuple(definition.depends_on),
                limits=limits,
                restart_on_unhealthy=definition.restart_on_unhealthy,
                metrics_url=None
                if definition.metrics is None
                else render(definition.metrics, context, where=f"{where}.metrics"),
            )
        )
    return plans


def _probe(
    spec: AppSpec, service: str, context: Mapping[str, Any], ports: Mapping[str, int]
) -> Probe | None:
    health = spec.services[service].health
    if health is None:
        return None
    return probe_of(
        health, context, f"services.{service}.health", lambda name: ("127.0.0.1", ports[name])
    )


def probe_of(
    health: HealthSpec,
    context: Mapping[str, Any],
    where: str,
    tcp_address: Callable[[str], tuple[str, int]],
) -> Probe:
    """The probe ``health`` describes, its templates rendered with ``context``; what its
    ``tcp`` names becomes a host and port through ``tcp_address``."""
    thresholds = Thresholds(health.failures, health.successes, health.start_period)
    timing = Probe("tcp", interval=health.interval, timeout=health.timeout, thresholds=thresholds)
    if health.http is not None:
        return replace(timing, kind="http", url=render(health.http, context, where=where))
    if health.tcp is not None:
        host, port = tcp_address(health.tcp)
        return replace(timing, host=host, port=port)
    assert health.command is not None
    command = tuple(render(part, context, where=where) for part in health.command)
    return replace(timing, kind="command", command=command)
