"""Secrets: encrypted at rest, names-only listings, audited reads, safe key rotation,
and their values never in a listing, an instance, an event or the metrics."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Connection, select

from roost.composition import open_context
from roost.registry.tables import instance_keys, instance_secrets
from roost.secrets import SecretBox
from roost.services.context import Context
from roost.settings import Settings

VALUE = "s3cr3t-7f2b1c9e-never-shown"


async def test_set_list_read_delete(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "a"})
    put = await client.put("/v1/instances/a/secrets/API_KEY", json={"value": VALUE})
    assert put.status_code == 204
    listed = (await client.get("/v1/instances/a/secrets")).json()
    assert [s["name"] for s in listed["secrets"]] == ["API_KEY"]
    assert set(listed["secrets"][0]) == {"name", "updated_at"}
    assert (await client.get("/v1/instances/a/secrets/API_KEY")).json() == {
        "name": "API_KEY",
        "value": VALUE,
    }
    await client.put("/v1/instances/a/secrets/API_KEY", json={"value": "second"})
    assert (await client.get("/v1/instances/a/secrets/API_KEY")).json()["value"] == "second"
    assert (await client.delete("/v1/instances/a/secrets/API_KEY")).status_code == 204
    missing = await client.get("/v1/instances/a/secrets/API_KEY")
    assert (missing.status_code, missing.json()["code"]) == (404, "SECRET_NOT_FOUND")
    gone = await client.delete("/v1/instances/a/secrets/API_KEY")
    assert gone.json()["code"] == "SECRET_NOT_FOUND"
    actions = [
        e["action"]
        for e in (await client.get("/v1/events", params={"instance_id": "a"})).json()["events"]
    ]
    assert actions == [
        "instance.create",
        "secret.set",
        "secret.read",
        "secret.set",
        "secret.read",
        "secret.delete",
    ]


async def test_bad_names_values_and_instances(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "b"})
    bad_name = await client.put("/v1/instances/b/secrets/9lives", json={"value": "x"})
    assert (bad_name.status_code, bad_name.json()["code"]) == (400, "INVALID_SECRET_NAME")
    nul = await client.put("/v1/instances/b/secrets/X", json={"value": "a\x00b"})
    assert (nul.status_code, nul.json()["code"]) == (400, "INVALID_SECRET")
    nobody = await client.put("/v1/instances/nobody/secrets/X", json={"value": "x"})
    assert nobody.json()["code"] == "INSTANCE_NOT_FOUND"


async def test_secrets_belong_to_their_instance(client: httpx.AsyncClient) -> None:
    for name in ("one", "two"):
        await client.post("/v1/instances", json={"instance_id": name})
    await client.put("/v1/instances/one/secrets/TOKEN", json={"value": VALUE})
    assert (await client.get("/v1/instances/two/secrets")).json()["secrets"] == []
    assert (await client.get("/v1/instances/two/secrets/TOKEN")).status_code == 404
    await client.delete("/v1/instances/one")
    await client.post("/v1/instances", json={"instance_id": "one"})
    assert (await client.get("/v1/instances/one/secrets")).json()["secrets"] == []


async def test_a_secret_value_never_leaks(client: httpx.AsyncClient, context: Context) -> None:
    await client.post("/v1/instances", json={"instance_id": "leak", "config": {"note": "plain"}})
    await client.put("/v1/instances/leak/secrets/API_KEY", json={"value": VALUE})
    await client.get("/v1/instances/leak/secrets/API_KEY")  # a read is audited, not echoed
    for path in (
        "/v1/instances",
        "/v1/instances/leak",
        "/v1/instances/leak/secrets",
        "/v1/events?limit=1000",
        "/metrics",
        "/api/instances",
    ):
        response = await client.get(path)
        assert VALUE not in response.text, path

    def stored(conn: Connection) -> str:
        return str(conn.execute(select(instance_secrets.c.value_encrypted)).scalar_one())

    token = await context.registry.read(stored)
    assert VALUE not in token
    assert context.box.decrypt(token).decode() == VALUE


async def test_rotating_the_key_keeps_every_secret_and_private_key(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/instances", json={"instance_id": "r1"})
    await client.put("/v1/instances/r1/secrets/A", json={"value": "alpha"})
    await client.post("/api/instance/register", json={"product_id": "prod"})
    old_keys = context.home.secret_keys()
    rotated = await client.post("/v1/secret-key/rotate")
    assert rotated.status_code == 200
    assert rotated.json() == {"reencrypted": 2}
    new_keys = context.home.secret_keys()
    assert len(new_keys) == 1 and new_keys != old_keys
    assert (await client.get("/v1/instances/r1/secrets/A")).json()["value"] == "alpha"

    def tokens(conn: Connection) -> list[str]:
        secrets = conn.execute(select(instance_secrets.c.value_encrypted)).scalars()
        keys = conn.execute(select(instance_keys.c.private_encrypted)).scalars()
        return [*secrets, *keys]

    old_box, new_box = SecretBox(old_keys), SecretBox(new_keys)
    for token in await context.registry.read(tokens):
        assert new_box.decrypt(token)
        with pytest.raises(Exception, match="cannot be decrypted"):
            old_box.decrypt(token)
    events = (await client.get("/v1/events")).json()["events"]
    rotations = [e["details"] for e in events if e["action"] == "secret.rotate-key"]
    assert rotations == [{"reencrypted": 2}]


async def test_a_key_file_with_old_and_new_keys_reads_both(settings: Settings) -> None:
    """What a crash in the middle of a rotation leaves behind still decrypts everything."""
    context = await open_context(settings)
    try:
        old = context.home.secret_keys()
        token = context.box.encrypt(b"kept")
        context.home.write_secret_keys([Fernet.generate_key(), *old])
    finally:
        await context.close()
    reopened = await open_context(settings)
    try:
        assert reopened.box.decrypt(token) == b"kept"
    finally:
        await reopened.close()


async def test_rotation_refuses_a_key_from_the_environment(settings: Settings) -> None:
    context = await open_context(replace(settings, secret_key=Fernet.generate_key().decode()))
    try:
        from roost.auth import LOCAL_ACTOR
        from roost.domain.errors import Conflict
        from roost.services.secrets import rotate_key

        with pytest.raises(Conflict) as refused:
            await rotate_key(context, LOCAL_ACTOR)
        assert refused.value.code == "KEY_FROM_ENVIRONMENT"
    finally:
        await context.close()
