"""What an instance's processes use, measured by the local supervisor on real processes:
CPU time counted across the leader and its descendants, their memory and number, and
the cgroup's count taking over where it has one."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from roost.runtime.cgroups import CgroupUsage
from roost.runtime.processes import ProcessTable
from roost.runtime.protocol import InstanceUsage, ServiceState
from roost.runtime.supervisor import LocalSupervisor
from tests.runtime.test_supervisor import plan

pytestmark = pytest.mark.slow

BURN = "import time\nend = time.time() + 60\nwhile time.time() < end: pass\n"


@pytest.fixture
async def supervisor() -> AsyncIterator[LocalSupervisor]:
    made = LocalSupervisor()
    yield made
    await made.close(stop_all=True)


async def test_usage_counts_the_whole_process_tree(
    supervisor: LocalSupervisor, tmp_path: Path
) -> None:
    (tmp_path / "burn.py").write_text(BURN)
    script = tmp_path / "family.sh"
    script.write_text(f"sleep 300 &\n{sys.executable} burn.py &\nwait\n")
    await supervisor.start([plan(tmp_path, "family", ["sh", str(script)])])
    [run] = supervisor.services("i1")
    assert run.spawned is not None
    leader = psutil.Process(run.spawned.pid)
    for _ in range(100):
        if len(leader.children(recursive=True)) >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.1)  # the process table is read again after a second
    first = supervisor.usage("i1")
    assert (first.processes, first.source) == (3, "processes")
    family_rss = sum(p.memory_info().rss for p in [leader, *leader.children(recursive=True)])
    assert first.memory_bytes == pytest.approx(family_rss, rel=0.2)
    await asyncio.sleep(0.5)
    second = supervisor.usage("i1")
    assert second.cpu_seconds - first.cpu_seconds > 0.2  # the burning grandchild counts
    [service] = second.services
    assert (service.service, service.processes) == ("family", 3)
    await supervisor.stop("i1")
    assert supervisor.usage("i1").processes == 0


def test_the_process_table_finds_descendants_and_is_read_at_most_once_a_second() -> None:
    table = ProcessTable(max_age=3600)
    me = psutil.Process()
    assert me.pid in table.descendants(me.ppid())
    child = psutil.Popen(["sleep", "5"])
    try:
        assert child.pid not in table.descendants(me.pid)  # not read again yet
        assert child.pid in ProcessTable().descendants(me.pid)
    finally:
        child.kill()
        child.wait()


def test_a_cgroup_that_counts_replaces_the_processes_sums() -> None:
    services = [
        ServiceState("a", "running", cpu_seconds=2.0, rss_bytes=100, processes=2),
        ServiceState("b", "running", cpu_seconds=1.0, rss_bytes=50, processes=1),
    ]
    summed = InstanceUsage.of(services, None)
    assert (summed.cpu_seconds, summed.memory_bytes, summed.processes) == (3.0, 150, 3)
    assert summed.source == "processes"
    v1 = InstanceUsage.of(services, CgroupUsage(None, 4096, "cgroup-v1"))  # memory only
    assert (v1.cpu_seconds, v1.memory_bytes, v1.source) == (3.0, 4096, "cgroup-v1")
    v2 = InstanceUsage.of(services, CgroupUsage(9.5, 8192, "cgroup-v2"))
    assert (v2.cpu_seconds, v2.memory_bytes, v2.source) == (9.5, 8192, "cgroup-v2")
