"""Instance export and import: the portable document, sealed secrets, all-or-nothing."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from roost.services.context import Context
from roost.settings import Settings, sqlite_url
from tests.conftest import client_for
from tests.servers import free_port

SECRET = "imp0rt-s3cret"
PASS = {"X-Roost-Passphrase": "correct horse"}


@pytest.fixture
async def other_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A second home (SQLite), as on another machine."""
    home = tmp_path / "other"
    async with client_for(Settings(home=home, database_url=sqlite_url(home / "roost.db"))) as http:
        yield http


BASE = free_port()  # per test process: the SQLite and PostgreSQL runs do not share ports


def app() -> dict[str, Any]:
    return {
        "name": "game",
        "version": "1",
        "ports": {"game": BASE},
        "config": {"mode": "pvp"},
        "services": {
            "server": {
                "command": ["python3", "-m", "http.server", "{{ ports.game }}"],
                "secrets": ["rcon"],
            }
        },
        "files": {"server.cfg": {"content": "rcon={{ secrets.rcon | default('') }}\n"}},
    }


async def seeded(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/apps", json=app())).status_code == 201
    for instance_id, tags in (("1", ["eu"]), ("pve", [])):
        created = await client.post(
            "/v1/instances",
            json={
                "app": "game",
                "instance_id": instance_id,
                "name": f"Server {instance_id}",
                "tags": tags,
                "config": {"mode": instance_id},
            },
        )
        assert created.status_code == 201, created.text
        await client.put(f"/v1/instances/{instance_id}/secrets/rcon", json={"value": SECRET})


async def test_export_one_as_json_and_yaml(client: httpx.AsyncClient) -> None:
    await seeded(client)
    as_json = await client.get("/v1/instances/1/export")
    assert as_json.status_code == 200
    document = as_json.json()
    assert document["roost_export"] == 1
    [entry] = document["instances"]
    assert entry == {
        "instance_id": "1",
        "name": "Server 1",
        "app": "game",
        "version": "1",
        "bare": False,
        "tags": ["eu"],
        "config": {"mode": "1"},
        "ports": {"game": BASE + 100},
    }
    as_yaml = await client.get("/v1/instances/1/export", params={"format": "yaml"})
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text)["instances"] == [entry]
    assert SECRET not in as_json.text + as_yaml.text


async def test_secrets_need_a_passphrase_and_are_sealed(client: httpx.AsyncClient) -> None:
    await seeded(client)
    refused = await client.get("/v1/instances/1/export", params={"secrets": "true"})
    assert refused.status_code == 400 and refused.json()["code"] == "PASSPHRASE_REQUIRED"
    sealed = await client.get("/v1/instances/1/export", params={"secrets": "true"}, headers=PASS)
    assert sealed.status_code == 200
    assert SECRET not in sealed.text
    document = sealed.json()
    assert document["secrets_kdf"]["name"] == "scrypt"
    assert document["instances"][0]["secrets"]


async def test_round_trip_into_another_home_with_secrets(
    client: httpx.AsyncClient, context: Context, other_client: httpx.AsyncClient
) -> None:
    await seeded(client)
    document = (
        await client.post("/v1/instances/export", json={"secrets": True}, headers=PASS)
    ).json()
    assert [e["instance_id"] for e in document["instances"]] == ["1", "pve"]
    await other_client.post("/v1/apps", json=app())
    wrong = await other_client.post(
        "/v1/instances/import", json=document, headers={"X-Roost-Passphrase": "wrong"}
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "BAD_PASSPHRASE"
    missing = await other_client.post("/v1/instances/import", json=document)
    assert missing.json()["code"] == "PASSPHRASE_REQUIRED"
    assert (await other_client.get("/v1/instances")).json()["instances"] == []

    imported = await other_client.post("/v1/instances/import", json=document, headers=PASS)
    assert imported.status_code == 201, imported.text
    made = {i["instance_id"]: i for i in imported.json()["instances"]}
    assert made["1"]["ports"] == {"game": BASE + 100} and made["1"]["tags"] == ["eu"]
    assert made["pve"]["config"] == {"mode": "pve"} and made["pve"]["name"] == "Server pve"
    value = await other_client.get("/v1/instances/pve/secrets/rcon")
    assert value.json()["value"] == SECRET
    events = (await other_client.get("/v1/events", params={"instance_id": "1"})).json()
    assert {"instance.import", "secret.import"} <= {e["action"] for e in events["events"]}
    assert SECRET not in json.dumps(events)


async def test_import_is_all_or_nothing(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await seeded(client)
    document = (await client.post("/v1/instances/export", json={})).json()
    await other_client.post("/v1/apps", json=app())
    # the second instance's port is bound by another process on this host
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = document["instances"][1]["ports"]["game"]
    try:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        # the other home's registry has these ports free: only the host's socket is in the way
        failed = await other_client.post("/v1/instances/import", json=document)
    finally:
        holder.close()
    assert failed.status_code == 409, failed.text
    assert failed.json()["code"] == "PORT_CONFLICT"
    assert (await other_client.get("/v1/instances")).json()["instances"] == []
    assert (await other_client.get("/v1/ports")).json()["ports"] == []


async def test_import_refuses_what_it_cannot_make(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await seeded(client)
    document = (await client.post("/v1/instances/export", json={})).json()
    no_app = await other_client.post("/v1/instances/import", json=document)
    assert no_app.status_code == 404 and no_app.json()["code"] == "APP_NOT_FOUND"
    exists = await client.post("/v1/instances/import", json=document)
    assert exists.status_code == 409 and exists.json()["code"] == "INSTANCE_EXISTS"
    twice = {**document, "instances": [document["instances"][0]] * 2}
    assert (await other_client.post("/v1/instances/import", json=twice)).json()[
        "code"
    ] == "INVALID_IMPORT"
    bad_documents: list[dict[str, Any]] = [
        {},
        {"instances": []},
        {"roost_export": 2, "instances": document["instances"]},
    ]
    for bad in bad_documents:
        response = await other_client.post("/v1/instances/import", json=bad)
        assert response.status_code == 400 and response.json()["code"] == "INVALID_IMPORT"


async def test_bare_instances_bring_their_app(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await client.post("/api/instance/register", json={"product_id": "demo", "version": "2.0"})
    document = (await client.post("/v1/instances/export", json={"format": "json"})).json()
    assert document["instances"][0]["bare"] is True
    imported = await other_client.post("/v1/instances/import", json=document)
    assert imported.status_code == 201, imported.text
    assert imported.json()["instances"][0]["app"] == "demo"


async def test_nothing_to_export(client: httpx.AsyncClient) -> None:
    bodies: list[dict[str, Any]] = [{}, {"instance_ids": []}]
    for body in bodies:
        response = await client.post("/v1/instances/export", json=body)
        assert response.status_code == 400 and response.json()["code"] == "NOTHING_TO_EXPORT"
