"""One access-control seam on every surface: each request's actor comes from the
context's authenticator and each use case asks the context's policy, the data plane
included. Routes never ask the policy themselves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from roost.auth import Actor, Scope
from roost.composition import open_context
from roost.domain.access import Role
from roost.domain.errors import Forbidden
from roost.settings import Settings
from tests.conftest import api_client

ROOST = Path(__file__).parent.parent.parent / "roost"


class HeaderAuthenticator:
    """The caller is whoever the X-Test-Actor header names."""

    async def authenticate(self, scope: Scope) -> Actor:
        for name, value in scope["headers"]:
            if name == b"x-test-actor":
                return Actor(value.decode(), user=value.decode(), role=Role.OWNER)
        return Actor("anonymous")

    async def sign_in(self, token: str, address: str) -> tuple[Actor, str]:
        return Actor(token, user=token, role=Role.OWNER), token

    def forget_tokens(self) -> None:
        pass


class RecordingPolicy:
    """Allows everything but what ``denied`` names, and keeps every question asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str | None]] = []
        self.denied: set[str] = set()

    async def authorize(self, actor: Actor, action: str, target: str | None = None) -> None:
        self.asked.append((actor.name, action, target))
        if action in self.denied:
            raise Forbidden(f"{actor.name} may not {action}", code="FORBIDDEN")

    async def allows(self, actor: Actor, action: str, target: str | None = None) -> bool:
        return action not in self.denied

    def forget(self, instance_id: str) -> None:
        pass


@pytest.fixture
def policy() -> RecordingPolicy:
    return RecordingPolicy()


@pytest.fixture
async def http(settings: Settings, policy: RecordingPolicy) -> AsyncIterator[httpx.AsyncClient]:
    ctx = await open_context(settings, authenticator=HeaderAuthenticator(), policy=policy, jobs=())
    try:
        async with api_client(ctx) as client:
            client.headers["X-Test-Actor"] = "alice"
            yield client
    finally:
        await ctx.close()


async def test_every_surface_asks_the_policy_with_the_authenticated_actor(
    http: httpx.AsyncClient, policy: RecordingPolicy
) -> None:
    assert (await http.post("/v1/instances", json={"instance_id": "t1"})).status_code == 201
    assert (await http.get("/v1/events")).status_code == 200
    assert (await http.get("/v1/ports")).status_code == 200
    assert (
        await http.put("/v1/cache/k", content=b"v", headers={"X-Instance-ID": "t1"})
    ).status_code == 204
    assert (await http.get("/v1/cache/k", headers={"X-Instance-ID": "t1"})).status_code == 200
    register = {"product_id": "demo", "version": "1.0.0"}
    assert (await http.post("/api/instance/register", json=register)).status_code == 200
    asked = [(actor, action, target) for actor, action, target in policy.asked]
    assert ("alice", "instance.create", "default") in asked  # a create is asked of its app
    assert ("alice", "instance.create", "demo") in asked  # the facade's product
    assert ("alice", "events.read", None) in asked
    assert ("alice", "ports.list", None) in asked
    assert ("alice", "cache.write", "t1") in asked
    assert ("alice", "cache.read", "t1") in asked
    assert {actor for actor, _, _ in asked} == {"alice"}
    events = (await http.get("/v1/events", params={"instance_id": "t1"})).json()["events"]
    assert {e["actor"] for e in events} == {"alice"}  # the change is recorded as hers


async def test_a_refusal_is_403_on_the_data_plane_and_the_control_plane(
    http: httpx.AsyncClient, policy: RecordingPolicy
) -> None:
    await http.post("/v1/instances", json={"instance_id": "t2"})
    policy.denied = {"cache.write", "instance.stop"}
    put = await http.put("/v1/cache/k", content=b"v", headers={"X-Instance-ID": "t2"})
    assert (put.status_code, put.json()["code"]) == (403, "FORBIDDEN")
    got = await http.get("/v1/cache/k", headers={"X-Instance-ID": "t2"})
    assert got.status_code == 404  # reading is allowed; nothing was written
    stop = await http.post("/v1/instances/t2/stop")
    assert (stop.status_code, stop.json()["code"]) == (403, "FORBIDDEN")
    assert (await http.get("/v1/instances/t2")).json()["state"] == "active"


def test_no_route_asks_the_policy_itself() -> None:
    """``authorize`` belongs to the use cases; a route that called it would be a second
    place where access is decided."""
    callers = [
        str(path.relative_to(ROOST))
        for path in (ROOST / "api").rglob("*.py")
        if re.search(r"\bauthorize\(", path.read_text())
    ]
    assert callers == []
