"""What the probes found, answered as JSON errors (never a 500, never text/plain)."""

from __future__ import annotations

import httpx

DEEP = "[" * 100_000 + "]" * 100_000


async def test_json_nested_too_deep_is_400_everywhere(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json", "x-instance-id": "deep"}
    for path in ("/v1/cache/batch/get", "/v1/cache/batch/set", "/v1/instances"):
        response = await client.post(path, content=DEEP, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/json"
        assert "code" in response.json()


async def test_a_since_out_of_range_in_utc_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/events", params={"since": "0001-01-01T00:00:00+14:00"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_TIME"


async def test_only_the_raw_path_names_the_data_plane(client: httpx.AsyncClient) -> None:
    headers = {"x-instance-id": "raw"}
    sneaky = await client.put("/v1/cach%65/foo", content=b"x", headers=headers)
    assert sneaky.status_code == 415  # not the data plane: a control-plane body must be JSON
    json_headers = {**headers, "content-type": "application/json"}
    sneaky = await client.put("/v1/cach%65/foo", content=b'"x"', headers=json_headers)
    assert sneaky.status_code == 404
    assert (await client.get("/v1/cache/5/foo", headers=headers)).status_code == 404
    assert (await client.put("/v1/cache/foo", content=b"x", headers=headers)).status_code == 204
    assert (await client.get("/v1/cache/foo", headers=headers)).content == b"x"


async def test_health_reads_the_instance_as_the_data_plane_does(client: httpx.AsyncClient) -> None:
    for headers, params in (
        ({"x-instance-id": ""}, {"instance_id": "b"}),
        ({"x-instance-id": "a"}, {"instance_id": "b"}),
    ):
        health = await client.get("/health", headers=headers, params=params)
        cache = await client.get("/v1/cache/k", headers=headers, params=params)
        assert health.status_code == cache.status_code == 400
        assert health.json()["code"] == cache.json()["code"] == "CONFLICTING_INSTANCE_ID"
    empty = await client.get("/health", headers={"x-instance-id": ""})
    assert empty.json()["code"] == "INVALID_INSTANCE_ID"
    same = await client.get("/health", headers={"x-instance-id": "b"}, params={"instance_id": "b"})
    assert same.status_code == 200 and same.json()["instance_id"] == "b"
