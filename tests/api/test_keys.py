from __future__ import annotations

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import Connection, select

from roost.registry.tables import instance_keys
from roost.services.context import Context


async def test_keys_on_request_are_rsa_2048_and_private_half_is_encrypted(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/instances", json={"instance_id": "k"})
    assert (await client.get("/v1/instances/k/public-key")).json()["code"] == "KEYS_NOT_FOUND"
    created = await client.post("/v1/instances/k/keys")
    assert created.status_code == 201
    fetched = await client.get("/v1/instances/k/public-key")
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("application/x-pem-file")
    assert fetched.text == created.text
    public = serialization.load_pem_public_key(fetched.content)
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048

    def stored(conn: Connection) -> str:
        return str(conn.execute(select(instance_keys.c.private_encrypted)).scalar_one())

    token = await context.registry.read(stored)
    assert "PRIVATE KEY" not in token
    private = serialization.load_pem_private_key(context.box.decrypt(token), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = private.sign(b"roost", padding.PKCS1v15(), hashes.SHA256())
    public.verify(signature, b"roost", padding.PKCS1v15(), hashes.SHA256())  # the same pair


async def test_second_key_pair_is_409_and_missing_instance_404(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "k2"})
    assert (await client.post("/v1/instances/k2/keys")).status_code == 201
    again = await client.post("/v1/instances/k2/keys")
    assert (again.status_code, again.json()["code"]) == (409, "KEYS_EXIST")
    missing = await client.get("/v1/instances/nobody/public-key")
    assert (missing.status_code, missing.json()["code"]) == (404, "INSTANCE_NOT_FOUND")


async def test_keys_of_one_instance_are_never_served_for_another(client: httpx.AsyncClient) -> None:
    for name in ("one", "two"):
        await client.post("/v1/instances", json={"instance_id": name})
    await client.post("/v1/instances/one/keys")
    assert (await client.get("/v1/instances/two/public-key")).status_code == 404
    await client.delete("/v1/instances/one")
    await client.post("/v1/instances", json={"instance_id": "one"})  # same id, new instance
    assert (await client.get("/v1/instances/one/public-key")).status_code == 404
