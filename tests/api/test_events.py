from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx


async def test_every_control_plane_change_is_an_event(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "e1"})
    await client.patch("/v1/instances/e1", json={"name": "E"})
    await client.post("/v1/instances/e1/stop")
    await client.post("/v1/instances/e1/usage", json={"feature_id": "f", "units": 3})
    await client.post("/v1/instances/e1/usage/reset", json={})
    await client.delete("/v1/instances/e1")
    events = (await client.get("/v1/events", params={"instance_id": "e1"})).json()["events"]
    assert [e["action"] for e in events] == [
        "instance.create",
        "instance.update",
        "instance.stop",
        "usage.consume",
        "usage.reset",
        "instance.delete",
        "instance.deleted",
    ]
    for event in events:
        assert event["actor"] == "local"
        assert event["instance_id"] == "e1"
        assert event["app"] == "default"
        assert event["outcome"] == "ok"
        assert event["at"].endswith("Z")
    assert events[1]["details"] == {"changed": ["name"]}
    assert events[3]["details"]["units"] == 3


async def test_events_since_and_limit(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await client.post("/v1/instances", json={"instance_id": f"s{n}"})
    latest = (await client.get("/v1/events", params={"limit": 2})).json()["events"]
    assert [e["instance_id"] for e in latest] == ["s3", "s4"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await client.get("/v1/events", params={"since": future})).json()["events"] == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    since = (await client.get("/v1/events", params={"since": past, "limit": 3})).json()["events"]
    assert [e["instance_id"] for e in since] == ["s0", "s1", "s2"]


async def test_a_bad_since_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/events", params={"since": "yesterday"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_TIME"
