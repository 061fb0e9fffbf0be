"""Bodies are bounded before they are read in full: the control plane's JSON, an
instance's config, the data plane's values and batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from roost.domain.values import MAX_CONFIG_BYTES

MIB = 1024 * 1024


async def stream(size: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body sent without Content-Length (chunked)."""
    sent = 0
    while sent < size:
        yield b" " * min(chunk, size - sent)
        sent += chunk


async def test_a_control_plane_body_past_the_limit_is_413(client: httpx.AsyncClient) -> None:
    big = json.dumps({"instance_id": "x", "name": "n" * (2 * MIB)}).encode()
    declared = await client.post(
        "/v1/instances", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413 and declared.json()["code"] == "BODY_TOO_LARGE"
    assert declared.headers["connection"] == "close"
    chunked = await client.post(
        "/v1/instances", content=stream(3 * MIB), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413 and chunked.json()["code"] == "BODY_TOO_LARGE"
    assert (await client.get("/v1/instances/x")).status_code == 404


async def test_a_config_past_64_kib_is_413_on_create_and_on_change(
    client: httpx.AsyncClient,
) -> None:
    big = {"blob": "x" * MAX_CONFIG_BYTES}
    created = await client.post("/v1/instances", json={"instance_id": "c", "config": big})
    assert created.status_code == 413 and created.json()["code"] == "CONFIG_TOO_LARGE"
    assert (await client.post("/v1/instances", json={"instance_id": "c"})).status_code == 201
    half = {"a": "x" * (MAX_CONFIG_BYTES // 2)}
    assert (await client.patch("/v1/instances/c/config", json=half)).status_code == 200
    grown = await client.patch("/v1/instances/c/config", json={"b": "y" * (MAX_CONFIG_BYTES // 2)})
    assert grown.status_code == 413 and grown.json()["code"] == "CONFIG_TOO_LARGE"
    kept = (await client.get("/v1/instances/c/config")).json()["overrides"]
    assert kept == half  # the change that would not fit changed nothing


async def test_batch_set_checks_every_value_and_the_whole_body(client: httpx.AsyncClient) -> None:
    at = {"instance_id": "b", "encoding": "base64"}
    typed = {"content-type": "application/json"}
    too_big_value = "A" * (2 * MIB)  # base64: 1.5 MiB, over the 1 MiB value limit
    one = await client.post(
        "/v1/cache/batch/set", params=at, json={"entries": {"ok": "QQ==", "big": too_big_value}}
    )
    assert one.status_code == 413 and one.json()["code"] == "VALUE_TOO_LARGE"
    assert (await client.get("/v1/cache/ok", params={"instance_id": "b"})).status_code == 404
    whole = await client.post(
        "/v1/cache/batch/set", params=at, content=stream(20 * MIB), headers=typed
    )
    assert whole.status_code == 413 and whole.json()["code"] == "BODY_TOO_LARGE"
    value = await client.put("/v1/cache/v", params={"instance_id": "b"}, content=b"x" * (MIB + 1))
    assert value.status_code == 413 and value.json()["code"] == "VALUE_TOO_LARGE"
