"""Lifecycle actions through the API: the transition table as users meet it."""

from __future__ import annotations

import asyncio

import httpx
import pytest


async def act(client: httpx.AsyncClient, instance_id: str, action: str) -> httpx.Response:
    return await client.post(f"/v1/instances/{instance_id}/{action}")


async def test_stop_start_pause_resume_restart_walk(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "w"})
    for action, state in [
        ("stop", "inactive"),
        ("stop", "inactive"),  # already there: succeeds, changes nothing
        ("start", "active"),
        ("start", "active"),
        ("pause", "paused"),
        ("pause", "paused"),
        ("resume", "active"),
        ("resume", "active"),
        ("restart", "active"),
        ("stop", "inactive"),
        ("restart", "active"),  # restart on inactive is a start
    ]:
        response = await act(client, "w", action)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["state"] == state, action
        assert (await client.get("/v1/instances/w")).json()["state"] == state


@pytest.mark.parametrize(
    ("setup", "action"),
    [(["stop"], "pause"), (["stop"], "resume"), (["pause"], "start"), (["pause"], "restart")],
)
async def test_refused_actions_are_409_naming_state_and_action(
    client: httpx.AsyncClient, setup: list[str], action: str
) -> None:
    await client.post("/v1/instances", json={"instance_id": "r"})
    for step in setup:
        assert (await act(client, "r", step)).status_code == 200
    before = (await client.get("/v1/instances/r")).json()
    response = await act(client, "r", action)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "INVALID_TRANSITION"
    assert body["action"] == action
    assert body["state"] == before["state"]
    assert (await client.get("/v1/instances/r")).json() == before


async def test_noops_write_no_event(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "n"})
    await act(client, "n", "start")
    await act(client, "n", "resume")
    actions = [
        e["action"]
        for e in (await client.get("/v1/events", params={"instance_id": "n"})).json()["events"]
    ]
    assert actions == ["instance.create"]


async def test_actions_on_a_missing_instance_are_404(client: httpx.AsyncClient) -> None:
    response = await act(client, "ghost", "start")
    assert response.status_code == 404
    assert response.json()["code"] == "INSTANCE_NOT_FOUND"


async def test_concurrent_stop_and_pause_end_in_a_table_state(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "c"})
    results = await asyncio.gather(*(act(client, "c", a) for a in ["pause", "stop"] * 5))
    assert all(r.status_code in (200, 409) for r in results)
    final = (await client.get("/v1/instances/c")).json()["state"]
    assert final in ("paused", "inactive")
    events = (await client.get("/v1/events", params={"instance_id": "c"})).json()["events"]
    # every recorded transition starts where the previous one ended: no lost update
    state = "active"
    for event in events[1:]:
        assert event["details"]["from"] == state
        state = event["details"]["to"]
    assert state == final
