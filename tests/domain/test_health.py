"""Health as a function of probe results: thresholds, the start period, errors, and the
worst of an instance's services."""

from __future__ import annotations

from roost.domain.health import (
    InstanceHealth,
    ProbeResult,
    ServiceHealth,
    Thresholds,
    worst,
)
from roost.domain.states import Health

PASS = ProbeResult(True, 1.0)
FAIL = ProbeResult(False, 1.0, "port 80 refused")
CANNOT = ProbeResult(False, 0.1, "cannot run 'x'", ran=False)


def fold(results: list[ProbeResult], thresholds: Thresholds, since: float = 100.0) -> list[str]:
    service = ServiceHealth()
    seen = []
    for n, result in enumerate(results):
        service.observe(result, thresholds, at=float(n), since_start=since + n)
        seen.append(service.health.value)
    return seen


def test_failures_in_a_row_make_it_unhealthy_and_successes_bring_it_back() -> None:
    thresholds = Thresholds(failures=3, successes=2)
    seen = fold([PASS, PASS, FAIL, FAIL, PASS, FAIL, FAIL, FAIL, PASS, PASS], thresholds)
    assert seen == [
        "unknown",  # one success of the two it takes
        "healthy",
        "healthy",
        "healthy",  # two failures of three
        "healthy",  # a success resets the count
        "healthy",
        "healthy",
        "unhealthy",
        "unhealthy",  # one success of two
        "healthy",
    ]


def test_failures_during_the_start_period_do_not_count() -> None:
    service = ServiceHealth()
    thresholds = Thresholds(failures=1, start_period=30)
    service.observe(FAIL, thresholds, at=0, since_start=5)
    assert (service.health, service.failures_in_a_row) == (Health.UNKNOWN, 0)
    service.observe(FAIL, thresholds, at=1, since_start=31)
    assert (service.health, service.error) == (Health.UNHEALTHY, "port 80 refused")


def test_a_probe_that_cannot_run_is_an_error_at_once() -> None:
    service = ServiceHealth()
    service.observe(CANNOT, Thresholds(failures=5), at=0, since_start=100)
    assert (service.health, service.error) == (Health.ERROR, "cannot run 'x'")
    service.observe(PASS, Thresholds(), at=1, since_start=101)
    assert service.health is Health.HEALTHY


def test_an_instance_is_as_healthy_as_its_worst_service() -> None:
    assert worst([]) is Health.UNKNOWN
    assert worst([Health.HEALTHY, Health.UNKNOWN]) is Health.UNKNOWN
    assert worst([Health.UNHEALTHY, Health.HEALTHY, Health.UNKNOWN]) is Health.UNHEALTHY
    assert worst([Health.UNHEALTHY, Health.ERROR]) is Health.ERROR
    instance = InstanceHealth(
        services={
            "web": ServiceHealth(health=Health.UNHEALTHY, error="answered 503"),
            "db": ServiceHealth(health=Health.HEALTHY),
            "cron": ServiceHealth(health=Health.UNHEALTHY, error="exited 1"),
        }
    )
    instance.settle(at=5.0)
    assert (instance.health, instance.checked_at) == (Health.UNHEALTHY, 5.0)
    assert instance.error == "cron: exited 1; web: answered 503"
    recovered = InstanceHealth(services={"db": ServiceHealth(health=Health.HEALTHY)})
    recovered.settle(at=6.0)
    assert (recovered.health, recovered.error) == (Health.HEALTHY, None)
