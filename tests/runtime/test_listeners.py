"""Which ports listen and on which sockets, from one netlink dump; readiness counts a
port only on a socket the service's own processes hold, and falls back to connecting."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from roost.runtime.listeners import RecentListeners, listening_sockets
from roost.runtime.plan import ServicePlan
from roost.runtime.readiness import ready


def test_a_listening_socket_is_seen_on_either_family_and_a_closed_one_is_not() -> None:
    with socket.socket() as four, socket.socket(socket.AF_INET6) as six:
        four.bind(("127.0.0.1", 0))
        four.listen()
        six.bind(("::1", 0))
        six.listen()
        port, port6 = four.getsockname()[1], six.getsockname()[1]
        assert {port, port6} <= listening_sockets().keys()
    assert not {port, port6} & listening_sockets().keys()


def test_a_bound_socket_that_does_not_listen_is_not_counted() -> None:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        assert bound.getsockname()[1] not in listening_sockets()


def test_one_dump_answers_every_check_while_it_is_fresh() -> None:
    shared = RecentListeners(fresh_for=3600.0)
    before = shared.sockets()
    with socket.socket() as late:
        late.bind(("127.0.0.1", 0))
        late.listen()
        port = late.getsockname()[1]
        assert shared.sockets() is before and port not in (before or ())  # not asked again
        assert port in (RecentListeners(fresh_for=0.0).sockets() or ())  # a new dump sees it


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
    assert unavailable.sockets() is None
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        plan = plan_on(tmp_path, server.getsockname()[1])
        assert await ready(plan, RecentListeners(fresh_for=0.0))
        assert await ready(plan, unavailable)
    assert not await ready(plan, RecentListeners(fresh_for=0.0))
    assert not await ready(plan, unavailable)


def inode_of(sock: socket.socket) -> int:
    return os.stat(f"/proc/self/fd/{sock.fileno()}").st_ino


def test_the_dump_names_each_listening_socket() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert listening_sockets()[server.getsockname()[1]] == {inode_of(server)}


async def test_a_port_counts_only_on_a_socket_of_the_service_own(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        plan = plan_on(tmp_path, server.getsockname()[1])
        fresh = RecentListeners(fresh_for=0.0)
        assert await ready(plan, fresh, lambda: {inode_of(server)})
        assert not await ready(plan, fresh, lambda: {12345})  # listening, but not by it
        assert not await ready(plan, fresh, set)
