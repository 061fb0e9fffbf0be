from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import Connection

from roost.registry.apps import insert_app
from roost.services.context import Context


async def consume(
    client: httpx.AsyncClient, instance_id: str, feature: str, units: int
) -> httpx.Response:
    return await client.post(
        f"/v1/instances/{instance_id}/usage", json={"feature_id": feature, "units": units}
    )


async def test_consume_until_the_limit_then_429_with_nothing_consumed(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/instances", json={"instance_id": "u"})
    first = await consume(client, "u", "exports", 600)
    assert first.json() == {
        "instance_id": "u",
        "feature_id": "exports",
        "consumed": 600,
        "remaining": 400,
        "limit": 1000,
    }
    over = await consume(client, "u", "exports", 401)
    assert over.status_code == 429
    assert over.json()["code"] == "QUOTA_EXCEEDED"
    assert (over.json()["consumed"], over.json()["remaining"]) == (600, 400)
    exact = await consume(client, "u", "exports", 400)
    assert exact.json()["remaining"] == 0
    listed = (await client.get("/v1/instances/u/usage")).json()["usage"]
    assert listed == [
        {
            "instance_id": "u",
            "feature_id": "exports",
            "consumed": 1000,
            "remaining": 0,
            "limit": 1000,
        }
    ]


async def test_limits_come_from_instance_config_then_app_quotas(
    client: httpx.AsyncClient, context: Context
) -> None:
    def add_app(conn: Connection) -> None:
        insert_app(conn, "metered", "1.0.0", {"quotas": {"default": 10, "big": 500}})

    await context.registry.write(add_app)
    await client.post("/v1/instances", json={"instance_id": "m1", "app": "metered"})
    await client.post(
        "/v1/instances",
        json={"instance_id": "m2", "app": "metered", "config": {"quotas": {"big": 5}}},
    )
    assert (await consume(client, "m1", "small", 1)).json()["limit"] == 10
    assert (await consume(client, "m1", "big", 1)).json()["limit"] == 500
    assert (await consume(client, "m2", "big", 1)).json()["limit"] == 5
    await client.patch("/v1/instances/m2", json={"config": {"quotas": {"big": 7}}})
    assert (await consume(client, "m2", "big", 1)).json()["limit"] == 7


async def test_reset_is_explicit_and_recorded(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "r"})
    await consume(client, "r", "a", 5)
    await consume(client, "r", "b", 6)
    one = await client.post("/v1/instances/r/usage/reset", json={"feature_id": "a"})
    assert one.json() == {"instance_id": "r", "reset": ["a"]}
    assert [
        u["feature_id"] for u in (await client.get("/v1/instances/r/usage")).json()["usage"]
    ] == ["b"]
    everything = await client.post("/v1/instances/r/usage/reset")
    assert everything.json() == {"instance_id": "r", "reset": ["b"]}
    events = (await client.get("/v1/events", params={"instance_id": "r"})).json()["events"]
    resets = [e["details"] for e in events if e["action"] == "usage.reset"]
    assert resets == [{"feature_id": "a", "reset": ["a"]}, {"feature_id": None, "reset": ["b"]}]


async def test_100_concurrent_consumptions_lose_no_update(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "hot"})
    results = await asyncio.gather(*(consume(client, "hot", "f", 7) for _ in range(100)))
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 100  # 142 of 7 units fit in 1000: every one of the 100 must succeed
    final = (await client.get("/v1/instances/hot/usage")).json()["usage"][0]
    assert final["consumed"] == 7 * len(ok)
    assert sorted(r.json()["consumed"] for r in ok) == [7 * n for n in range(1, len(ok) + 1)]


async def test_concurrent_consumers_never_overshoot_the_limit(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "edge"})
    results = await asyncio.gather(*(consume(client, "edge", "f", 30) for _ in range(100)))
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 33  # 33 * 30 = 990 <= 1000 < 34 * 30
    assert all(r.json()["code"] == "QUOTA_EXCEEDED" for r in results if r.status_code != 200)
    final = (await client.get("/v1/instances/edge/usage")).json()["usage"][0]
    assert final["consumed"] == 990


async def test_bad_usage_requests(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "b"})
    for body in ({"feature_id": "f", "units": 0}, {"units": 1}, {"feature_id": "f", "units": "x"}):
        response = await client.post("/v1/instances/b/usage", json=body)
        assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")
    response = await consume(client, "nobody", "f", 1)
    assert (response.status_code, response.json()["code"]) == (404, "INSTANCE_NOT_FOUND")
