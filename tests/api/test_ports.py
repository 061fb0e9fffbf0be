"""Port allocation: offsets, fixed, auto, explicit; conflicts with the registry and the
host; concurrency; release on delete."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from roost.settings import Settings
from tests.conftest import client_for
from tests.servers import free_base, free_port

pytestmark = pytest.mark.demo_ports  # the example stack's fixed ports

STACK: dict[str, Any] = {
    "name": "stack",
    "ports": {"backend": 3211, "frontend": 5173},
    "services": {
        "backend": {"command": ["python", "-m", "http.server", "{{ ports.backend }}"]},
        "frontend": {"command": ["python", "-m", "http.server", "{{ ports.frontend }}"]},
    },
}


async def add(client: httpx.AsyncClient, app: dict[str, Any]) -> None:
    response = await client.post("/v1/apps", json=app)
    assert response.status_code in (200, 201), response.text


async def test_seed_004_port_table(client: httpx.AsyncClient) -> None:
    await add(client, STACK)
    one = (await client.post("/v1/instances", json={"app": "stack", "instance_id": "1"})).json()
    five = (await client.post("/v1/instances", json={"app": "stack", "instance_id": "5"})).json()
    assert one["ports"] == {"backend": 3311, "frontend": 5273}
    assert five["ports"] == {"backend": 3711, "frontend": 5673}
    assert (await client.get("/v1/instances/5/ports")).json() == {
        "instance_id": "5",
        "ports": {"backend": 3711, "frontend": 5673},
    }
    listed = (await client.get("/v1/ports")).json()["ports"]
    assert [(p["port"], p["name"], p["instance_id"], p["app"]) for p in listed] == [
        (3311, "backend", "1", "stack"),
        (3711, "backend", "5", "stack"),
        (5273, "frontend", "1", "stack"),
        (5673, "frontend", "5", "stack"),
    ]
    assert {p["host"] for p in listed} == {socket.gethostname()}


async def test_a_fixed_port_goes_to_one_instance_and_the_next_is_told_who_has_it(
    client: httpx.AsyncClient,
) -> None:
    await add(client, {"name": "game", "ports": {"rcon": {"fixed": free_port()}}})
    first = (await client.post("/v1/instances", json={"app": "game", "instance_id": "pvp"})).json()
    refused = await client.post("/v1/instances", json={"app": "game", "instance_id": "pve"})
    assert refused.status_code == 409
    body = refused.json()
    assert (body["code"], body["holder"], body["port"]) == (
        "PORT_CONFLICT",
        "pvp",
        first["ports"]["rcon"],
    )
    assert "pvp" in body["error"]
    assert (await client.get("/v1/instances/pve")).status_code == 404  # nothing was created


@pytest.fixture(params=["0.0.0.0", "127.0.0.1"])
def bound_port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    with socket.socket() as listener:
        listener.bind((request.param, port))
        listener.listen()
        yield port


async def test_a_port_bound_on_the_host_is_refused_naming_the_process(
    client: httpx.AsyncClient, bound_port: int
) -> None:
    await add(client, {"name": "web", "ports": {"http": 80}})
    refused = await client.post("/v1/instances", json={"app": "web", "ports": {"http": bound_port}})
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "PORT_CONFLICT"
    assert body["port"] == bound_port
    assert f"pid {os.getpid()}" in body["holder"]
    moved = await client.post(
        "/v1/instances", json={"app": "web", "ports": {"http": bound_port}, "auto_ports": True}
    )
    assert moved.status_code == 201
    assert 20000 <= moved.json()["ports"]["http"] <= 29999


@pytest.fixture
async def narrow_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose auto ports come from a range of 60 ports."""
    # auto 24000-29999 and offsets 10000-19039: apart, and below the ephemeral ports
    # (32768+) that client sockets take at random
    first = 24000 + free_port() % 100 * 60
    async with client_for(replace(settings, port_range=f"{first}-{first + 59}")) as http:
        yield http


async def test_fifty_concurrent_creates_get_distinct_ordinals_and_ports(
    narrow_client: httpx.AsyncClient,
) -> None:
    client = narrow_client
    base = 10000 + free_port() % 900 * 10
    await add(client, {"name": "many", "port_stride": 1, "ports": {"web": base, "metrics": "auto"}})
    results = await asyncio.gather(
        *(client.post("/v1/instances", json={"app": "many"}) for _ in range(50))
    )
    assert all(r.status_code == 201 for r in results), [
        r.text for r in results if r.status_code != 201
    ]
    instances = [r.json() for r in results]
    assert sorted(i["ordinal"] for i in instances) == list(range(50))
    for instance in instances:
        assert instance["ports"]["web"] == base + instance["ordinal"]
    every_port = [p for i in instances for p in i["ports"].values()]
    assert len(every_port) == len(set(every_port)) == 100
    listed = (await client.get("/v1/ports")).json()["ports"]
    assert len(listed) == 100


async def test_ports_are_released_when_the_instance_is_deleted(client: httpx.AsyncClient) -> None:
    port = free_port()
    await add(client, {"name": "solo", "ports": {"web": {"fixed": port}}})
    await client.post("/v1/instances", json={"app": "solo", "instance_id": "a"})
    assert (await client.delete("/v1/instances/a")).status_code == 204
    assert (await client.get("/v1/ports")).json()["ports"] == []
    again = await client.post("/v1/instances", json={"app": "solo", "instance_id": "b"})
    assert again.json()["ports"] == {"web": port}


async def test_bad_port_requests(client: httpx.AsyncClient) -> None:
    await add(client, {"name": "high", "ports": {"web": 65500}})
    unknown = await client.post("/v1/instances", json={"app": "high", "ports": {"nope": 1234}})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "UNKNOWN_PORT")
    await client.post("/v1/instances", json={"app": "high", "instance_id": "0"})
    overflow = await client.post("/v1/instances", json={"app": "high", "instance_id": "1"})
    assert (overflow.status_code, overflow.json()["code"]) == (400, "PORT_OUT_OF_RANGE")
    assert overflow.json()["port"] == 65600
    invalid = await client.post("/v1/instances", json={"app": "high", "ports": {"web": 70000}})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "VALIDATION_ERROR")


async def test_a_pinned_older_version_gets_that_version_s_ports(client: httpx.AsyncClient) -> None:
    base = free_base(span=1300)
    await add(client, {"name": "v", "version": "1", "ports": {"web": base}})
    await add(client, {"name": "v", "version": "2", "ports": {"web": base + 1000}})
    old = (
        await client.post("/v1/instances", json={"app": "v", "version": "1", "instance_id": "1"})
    ).json()
    new = (await client.post("/v1/instances", json={"app": "v", "instance_id": "2"})).json()
    assert (old["ports"], new["ports"]) == ({"web": base + 100}, {"web": base + 1200})
