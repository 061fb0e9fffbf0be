"""The runtime of one home on this host: the local supervisor over real processes,
confined in the home's own cgroups."""

from __future__ import annotations

from pathlib import Path

from roost.domain.clock import SYSTEM_CLOCK, Clock
from roost.home import identity
from roost.runtime.cgroups import Cgroups
from roost.runtime.host import LocalHost
from roost.runtime.protocol import Runtime
from roost.runtime.supervisor import LocalSupervisor


def cgroup_scope(home: Path) -> str:
    """Each home's instances live under a cgroup of their own: two homes on one host
    never touch each other's."""
    return identity(home)[:10]


def local_runtime(home: Path, clock: Clock = SYSTEM_CLOCK) -> Runtime:
    scope = cgroup_scope(home)
    return LocalSupervisor(LocalHost(scope), clock=clock, cgroups=Cgroups(scope))
