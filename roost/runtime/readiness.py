"""Is a service up? Its ports accept connections, or its health probe passes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from roost.runtime.listeners import RecentListeners
from roost.runtime.plan import Probe, ServicePlan
from roost.runtime.probes import connect_error, run_probe

READY_POLL_FIRST = 0.01  # a small service is up within tens of milliseconds
READY_POLL_GROWTH = 1.5  # each wait longer than the last, so a slow service costs few checks,
# but never so long that a ready service waits long for its next check: a port check asks
# the shared dump of listening ports (next to free), a probe does real work each time
READY_POLL_MAX_PORTS = 0.02
READY_POLL_MAX_PROBE = 0.2


def ready_polls(*, probe: bool) -> Iterator[float]:
    """The waits between a starting service's readiness checks."""
    pause = READY_POLL_FIRST
    longest = READY_POLL_MAX_PROBE if probe else READY_POLL_MAX_PORTS
    while True:
        yield pause
        pause = min(pause * READY_POLL_GROWTH, longest)


async def listening(port: int, host: str = "127.0.0.1", within: float = 0.5) -> bool:
    """Whether ``port`` accepts a connection (the TCP probe's bare connect: a check every
    few milliseconds while many services start must cost next to nothing)."""
    return await connect_error(port, within, host) is None


async def probe_passes(probe: Probe, plan: ServicePlan) -> bool:
    return (await run_probe(probe, plan.cwd, plan.env)).passed


async def ready(
    plan: ServicePlan,
    listeners: RecentListeners | None = None,
    owned: Callable[[], set[int]] | None = None,
) -> bool:
    """The probe when the service has one, else every port it uses listens, on a socket
    of the service's own (``owned``: the socket inodes its processes hold), not one some
    other process holds (asked of ``listeners`` where netlink answers, else by
    connecting, which cannot tell whose it is); a service without either is up once it
    runs."""
    if plan.probe is not None:
        return await probe_passes(plan.probe, plan)
    sockets = listeners.sockets() if listeners is not None else None
    if sockets is not None:
        if not all(port in sockets for port in plan.ports):
            return False
        if owned is None or not plan.ports:
            return True
        theirs = owned()  # looked at once every port listens: its open files, once
        return all(not sockets[port].isdisjoint(theirs) for port in plan.ports)
    for port in plan.ports:
        if not await listening(port):
            return False
    return True
