"""Which ports listen, from one netlink dump; readiness falls back to connecting."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from roost.runtime.listeners import RecentListeners, listening_ports
from roost.runtime.plan import ServicePlan
from roost.runtime.readiness import ready


def test_a_listening_socket_is_seen_on_either_family_and_a_closed_one_is_not() -> None:
    with socket.socket() as four, socket.socket(socket.AF_INET6) as six:
        four.bind(("127.0.0.1", 0))
        four.listen()
        six.bind(("::1", 0))
        six.listen()
        port, port6 = four.getsockname()[1], six.getsockname()[1]
        assert {port, port6} <= listening_ports()
    assert not {port, port6} & listening_ports()


def test_a_bound_socket_that_does_not_listen_is_not_counted() -> None:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        assert bound.getsockname()[1] not in listening_ports()


def test_one_dump_answers_every_check_while_it_is_fresh() -> None:
    shared = RecentListeners(fresh_for=3600.0)
    before = shared.ports()
    with socket.socket() as late:
        late.bind(("127.0.0.1", 0))
        late.listen()
        port = late.getsockname()[1]
        assert shared.ports() is before and port not in (before or ())  # not asked again
        assert port in (RecentListeners(fresh_for=0.0).ports() or ())  # a new dump sees it


def plan_on(tmp_path: Path, port: int) -> ServicePlan:
    return ServicePlan(
        instance_id="i1",
        service="web",
        argv=("true",),
        cwd=tmp_path,
        log=tmp_path / "web.log",
        env={"PATH": os.environ["PATH"]},
        ports=(port,),
    )


async def test_readiness_asks_the_dump_and_else_connects(tmp_path: Path) -> None:
    unavailable = RecentListeners()
    unavailable.available = False  # as where the kernel refuses netlink diagnostics
    assert unavailable.ports() is None
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        plan = plan_on(tmp_path, server.getsockname()[1])
        assert await ready(plan, RecentListeners(fresh_for=0.0))
        assert await ready(plan, unavailable)
    assert not await ready(plan, RecentListeners(fresh_for=0.0))
    assert not await ready(plan, unavailable)
