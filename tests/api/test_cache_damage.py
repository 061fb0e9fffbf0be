"""Damage in the embedded store's log, seen from the data plane and the events: a damaged
value is a JSON 500 ``VALUE_CORRUPT`` and never its bytes, and what was lost is recorded
per instance."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from roost.cache.embedded import LOG_NAME
from roost.composition import open_context
from roost.settings import Settings
from tests.conftest import api_client, opened_context


def corrupt(settings: Settings, text: bytes) -> None:
    """Change one byte of ``text`` where it is in the home's cache log."""
    path = settings.home / "cache" / LOG_NAME
    fd = os.open(path, os.O_RDWR)
    try:
        at = path.read_bytes().index(text)
        os.pwrite(fd, bytes([text[0] ^ 0x20]), at)
    finally:
        os.close(fd)


async def damage_events(http: Any, **params: str) -> list[dict[str, Any]]:
    response = await http.get("/v1/events", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["action"] == "cache.damaged"]


async def test_a_value_damaged_on_disk_is_a_json_500_and_an_event(settings: Settings) -> None:
    settings = replace(settings, cache_memory_bytes=0)  # every read goes to the disk
    async with opened_context(settings) as ctx, api_client(ctx) as http:
        headers = {"X-Instance-ID": "tenant-1"}
        assert (await http.put("/v1/cache/good", content=b"fine", headers=headers)).is_success
        put = await http.put("/v1/cache/victim", content=b"precious bytes", headers=headers)
        assert put.is_success
        corrupt(settings, b"precious bytes")
        read = await http.get("/v1/cache/victim", headers=headers)
        assert read.status_code == 500
        assert read.headers["content-type"].startswith("application/json")
        assert read.json()["code"] == "VALUE_CORRUPT" and b"precious" not in read.content
        assert (await http.get("/v1/cache/victim", headers=headers)).status_code == 404
        assert (await http.get("/v1/cache/good", headers=headers)).content == b"fine"
        [event] = await damage_events(http, instance_id="tenant-1")
        assert event["outcome"] == "error"
        assert event["details"]["found"] == "read" and event["details"]["keys"] == ["victim"]


async def test_damage_found_at_start_is_recorded_for_each_instance(settings: Settings) -> None:
    async with opened_context(settings) as ctx, api_client(ctx) as http:
        for tenant in ("tenant-a", "tenant-b"):
            for key in ("one", "two"):
                value = f"{tenant} {key} value".encode()
                response = await http.put(
                    f"/v1/cache/{key}", content=value, headers={"X-Instance-ID": tenant}
                )
                assert response.is_success
    corrupt(settings, b"tenant-a two value")  # a value: its key can be told
    corrupt(settings, b"tenant-b one value")
    ctx = await open_context(settings)
    try:
        async with api_client(ctx) as http:
            [whole] = [e for e in await damage_events(http) if e["instance_id"] is None]
            assert whole["details"]["records"] == 2
            assert whole["details"]["instances"] == ["tenant-a", "tenant-b"]
            assert whole["details"]["kept"].startswith(str(settings.home / "cache" / LOG_NAME))
            [a] = await damage_events(http, instance_id="tenant-a")
            assert a["details"] == {"found": "open", "keys": ["two"], "more_keys": 0}
            one = await http.get("/v1/cache/one", headers={"X-Instance-ID": "tenant-a"})
            assert one.content == b"tenant-a one value"
            gone = await http.get("/v1/cache/one", headers={"X-Instance-ID": "tenant-b"})
            assert gone.status_code == 404
    finally:
        await ctx.close()
