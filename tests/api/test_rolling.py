"""Rolling restarts of real processes: one at a time, each healthy again before the next,
and the roll stops at the first that is not."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from roost.services.context import Context

pytestmark = pytest.mark.slow

# healthy while data/ok is there; an instance with data/flaky loses it 0.3 s after each
# start: its start passes its probe, but it never passes five checks in a row
FLAKY = "sleep 0.3; if [ -f data/flaky ]; then rm -f data/ok; fi; exec sleep 100000"
SPEC: dict[str, Any] = {
    "name": "rolled",
    "version": "1",
    "install": ["sh", "-c", "mkdir -p data && touch data/ok"],
    "services": {
        "web": {
            "command": ["sh", "-c", FLAKY],
            "health": {
                "cmd": ["test", "-f", "data/ok"],
                "failures": 1,
                "successes": 5,
                "interval": "1s",
            },
            "start_timeout": "5s",
        }
    },
}


async def pids(client: httpx.AsyncClient, ids: list[str]) -> dict[str, int]:
    found = {}
    for instance_id in ids:
        services = (await client.get(f"/v1/instances/{instance_id}/services")).json()
        found[instance_id] = services["services"][0]["pid"]
    return found


async def roll(client: httpx.AsyncClient, ids: list[str], **rolling: Any) -> list[dict[str, Any]]:
    body = {"instance_ids": ids, "rolling": rolling}
    answer = await client.post("/v1/instances/restart", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return [json.loads(line) for line in answer.text.splitlines()]


async def test_a_roll_restarts_each_in_turn_and_stops_at_the_first_unhealthy(
    client: httpx.AsyncClient, context: Context
) -> None:
    assert (await client.post("/v1/apps", json=SPEC)).status_code == 201
    ids = ["1", "2", "3", "4"]
    for instance_id in ids:
        body = {"app": "rolled", "instance_id": instance_id}
        assert (await client.post("/v1/instances", json=body)).status_code == 201
        assert (await client.post(f"/v1/instances/{instance_id}/start")).status_code == 200
    before = await pids(client, ids)

    lines = await roll(client, ids, max_unavailable=2, timeout=10)
    assert [line["instance_id"] for line in lines] == ids
    assert all("instance" in line for line in lines), lines
    after = await pids(client, ids)
    assert all(after[i] != before[i] for i in ids)  # every one restarted

    (context.home.path / "instances" / "2" / "data" / "flaky").write_text("")
    lines = await roll(client, ids, max_unavailable=1, timeout=2)
    outcomes = {line["instance_id"]: line.get("code", "ok") for line in lines}
    assert outcomes == {"1": "ok", "2": "NOT_HEALTHY", "3": "ROLL_STOPPED", "4": "ROLL_STOPPED"}
    assert "was not healthy 2s after its restart (unhealthy" in lines[1]["error"]
    assert lines[2]["error"] == "not restarted: the roll stopped at '2'"
    untouched = await pids(client, ["3", "4"])
    assert untouched == {i: after[i] for i in ("3", "4")}


async def test_a_rolling_upgrade_stops_at_the_first_unhealthy(
    client: httpx.AsyncClient, context: Context
) -> None:
    assert (await client.post("/v1/apps", json=SPEC)).status_code == 201
    ids = ["1", "2", "3"]
    for instance_id in ids:
        body = {"app": "rolled", "instance_id": instance_id}
        assert (await client.post("/v1/instances", json=body)).status_code == 201
        assert (await client.post(f"/v1/instances/{instance_id}/start")).status_code == 200
    # version 2 loses instance 2's health 0.3 s after it starts
    breaks_two = "sleep 0.3; {% if instance.id == '2' %}rm -f data/ok; {% endif %}exec sleep 100000"
    v2 = {**SPEC, "version": "2"}
    v2["services"] = {"web": {**SPEC["services"]["web"], "command": ["sh", "-c", breaks_two]}}
    assert (await client.post("/v1/apps", json=v2)).status_code == 200

    rolled: dict[str, Any] = {
        "instance_ids": ids,
        "version": "2",
        "rolling": {"max_unavailable": 1, "timeout": 2},
    }
    answer = await client.post("/v1/instances/upgrade", json=rolled, timeout=60)
    assert answer.status_code == 200, answer.text
    lines = [json.loads(line) for line in answer.text.splitlines()]
    outcomes = {line["instance_id"]: line.get("code", "ok") for line in lines}
    assert outcomes == {"1": "ok", "2": "NOT_HEALTHY", "3": "ROLL_STOPPED"}
    assert lines[0]["instance"]["version"] == "2"
    assert lines[2]["error"] == "not upgraded: the roll stopped at '2'"
    versions = {i: (await client.get(f"/v1/instances/{i}")).json()["version"] for i in ids}
    assert versions == {"1": "2", "2": "2", "3": "1"}  # 3 was not touched

    plain = await client.post("/v1/instances/upgrade", json={"instance_ids": ["3", "nope"]})
    by_id = {json.loads(line)["instance_id"]: json.loads(line) for line in plain.text.splitlines()}
    assert by_id["3"]["instance"]["version"] == "2"  # the app's current version
    assert by_id["nope"]["code"] == "INSTANCE_NOT_FOUND"


async def test_rolling_options_are_checked(client: httpx.AsyncClient) -> None:
    body = {"instance_ids": ["1"], "rolling": {"max_unavailable": 0}}
    refused = await client.post("/v1/instances/restart", json=body)
    assert (refused.status_code, refused.json()["code"]) == (422, "VALIDATION_ERROR")
