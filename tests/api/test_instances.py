"""The /v1/instances resource on a real registry (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/instances", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_without_anything_gives_a_uuid_in_the_bare_default_app(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client)
    assert re.match(
        r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        created["instance_id"],
    )
    assert created["app"] == "default"
    assert created["state"] == "active"  # a bare app's instance is active at once
    assert created["health"] == "unknown"
    assert created["ordinal"] == 0
    assert created["owner"] == "local"
    assert RFC3339.match(created["created_at"])
    fetched = (await client.get(f"/v1/instances/{created['instance_id']}")).json()
    assert fetched == created


async def test_create_keeps_name_tags_config_and_version(client: httpx.AsyncClient) -> None:
    created = await create(
        client,
        instance_id="pvp",
        name="PvP Server",
        tags=["eu", "pvp", "eu"],
        config={"max_players": 16, "motd": "hi", "nested": {"a": [1, 2]}},
        version="2.0.0",
    )
    assert created["name"] == "PvP Server"
    assert created["tags"] == ["eu", "pvp"]
    assert created["config"] == {"max_players": 16, "motd": "hi", "nested": {"a": [1, 2]}}
    assert created["version"] == "2.0.0"


async def test_integer_ids_take_their_ordinal_and_others_the_smallest_free(
    client: httpx.AsyncClient,
) -> None:
    assert (await create(client, instance_id="2"))["ordinal"] == 2
    assert (await create(client, instance_id="a"))["ordinal"] == 0
    assert (await create(client, instance_id="b"))["ordinal"] == 1
    assert (await create(client, instance_id="c"))["ordinal"] == 3
    assert (await client.delete("/v1/instances/b")).status_code == 204
    assert (await create(client, instance_id="d"))["ordinal"] == 1


async def test_an_integer_id_whose_ordinal_is_held_is_refused_naming_the_holder(
    client: httpx.AsyncClient,
) -> None:
    await create(client, instance_id="alpha")  # ordinal 0
    await create(client, instance_id="beta")  # ordinal 1
    response = await client.post("/v1/instances", json={"instance_id": "1"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "ORDINAL_TAKEN"
    assert body["holder"] == "beta"
    assert "beta" in body["error"]


async def test_duplicate_id_is_409_instance_exists(client: httpx.AsyncClient) -> None:
    await create(client, instance_id="dup")
    response = await client.post("/v1/instances", json={"instance_id": "dup"})
    assert response.status_code == 409
    assert response.json()["code"] == "INSTANCE_EXISTS"
    again = await client.post("/v1/instances", json={"instance_id": "5"})
    assert again.status_code == 201
    response = await client.post("/v1/instances", json={"instance_id": "5"})
    assert response.json()["code"] == "INSTANCE_EXISTS"


@pytest.mark.parametrize("bad", ["Upper", "has space", "../etc", "x" * 64, "-x", "a.b", ""])
async def test_invalid_ids_are_400(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.post("/v1/instances", json={"instance_id": bad})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INSTANCE_ID"


async def test_invalid_id_in_the_path_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/instances/NOT_VALID")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INSTANCE_ID"


async def test_unknown_app_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/instances", json={"app": "nope"})
    assert response.status_code == 404
    assert response.json()["code"] == "APP_NOT_FOUND"


async def test_unknown_fields_and_bad_values_are_422_validation_error(
    client: httpx.AsyncClient,
) -> None:
    bodies: list[dict[str, Any]] = [
        {"colour": "red"},
        {"tags": ["has space"]},
        {"name": "a\nb"},
        {"config": []},
    ]
    for body in bodies:
        response = await client.post("/v1/instances", json=body)
        assert response.status_code == 422, body
        payload = response.json()
        assert payload["code"] == "VALIDATION_ERROR"
        assert payload["fields"]


async def test_nul_characters_in_config_are_refused_not_stored(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/instances", json={"config": {"k": "a\x00b"}})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CONFIG"
    assert (await client.get("/v1/instances")).json()["instances"] == []


async def test_patch_renames_retags_and_merge_patches_config(client: httpx.AsyncClient) -> None:
    await create(
        client, instance_id="p", tags=["a"], config={"keep": 1, "drop": 2, "obj": {"x": 1}}
    )
    response = await client.patch(
        "/v1/instances/p",
        json={
            "name": "Renamed",
            "tags": ["b", "c"],
            "config": {"drop": None, "obj": {"y": 2}, "new": True},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["tags"] == ["b", "c"]
    assert body["config"] == {"keep": 1, "obj": {"x": 1, "y": 2}, "new": True}
    assert (await client.get("/v1/instances/p")).json() == body


async def test_delete_is_204_then_404(client: httpx.AsyncClient) -> None:
    await create(client, instance_id="gone")
    assert (await client.delete("/v1/instances/gone")).status_code == 204
    for response in (
        await client.get("/v1/instances/gone"),
        await client.delete("/v1/instances/gone"),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "error": "instance 'gone' not found",
            "code": "INSTANCE_NOT_FOUND",
            "instance_id": "gone",
        }


async def test_list_filters_by_app_version_state_tags_and_substring(
    client: httpx.AsyncClient,
) -> None:
    await create(
        client, instance_id="eu-1", name="Europe one", tags=["eu", "prod"], version="1.0.0"
    )
    await create(client, instance_id="eu-2", name="Europe two", tags=["eu"], version="2.0.0")
    await create(client, instance_id="us-1", name="America", tags=["us", "prod"], version="2.0.0")
    await client.post("/v1/instances/eu-2/stop")
    await client.post("/api/instance/register", json={"product_id": "other"})

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/instances", params=params)
        assert response.status_code == 200, response.text
        return [i["instance_id"] for i in response.json()["instances"]]

    assert await ids(app="default") == ["eu-1", "eu-2", "us-1"]
    assert await ids(version="2.0.0", app="default") == ["eu-2", "us-1"]
    assert await ids(state="inactive") == ["eu-2"]
    assert await ids(tag="eu") == ["eu-1", "eu-2"]
    assert await ids(tag=["eu", "prod"]) == ["eu-1"]
    assert await ids(q="europe") == ["eu-1", "eu-2"] or await ids(q="Europe") == ["eu-1", "eu-2"]
    assert await ids(q="us-") == ["us-1"]
    assert await ids(q="%") == []  # wildcards are matched literally
    assert await ids(app="nope") == []


async def test_pagination_walks_every_instance_once_in_creation_order(
    client: httpx.AsyncClient,
) -> None:
    made = [(await create(client, tags=["t"]))["instance_id"] for _ in range(23)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5, "tag": "t"}
        if cursor:
            params["cursor"] = cursor
        body: dict[str, Any] = (await client.get("/v1/instances", params=params)).json()
        seen += [i["instance_id"] for i in body["instances"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert pages == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "garbage!"}, "INVALID_CURSOR"),
        ({"limit": 0}, "VALIDATION_ERROR"),
        ({"limit": 1001}, "VALIDATION_ERROR"),
        ({"state": "sleepy"}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_list_parameters_are_clear_errors(
    client: httpx.AsyncClient, params: dict[str, Any], code: str
) -> None:
    response = await client.get("/v1/instances", params=params)
    assert response.status_code in (400, 422)
    assert response.json()["code"] == code


async def test_concurrent_creates_of_one_id_make_one_instance(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(client.post("/v1/instances", json={"instance_id": "race"}) for _ in range(20))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"INSTANCE_EXISTS"}


async def test_concurrent_creates_get_distinct_ordinals(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(client.post("/v1/instances", json={}) for _ in range(50)))
    assert all(r.status_code == 201 for r in responses), [
        r.text for r in responses if r.status_code != 201
    ]
    ordinals = sorted(r.json()["ordinal"] for r in responses)
    assert ordinals == list(range(50))
    ids = {r.json()["instance_id"] for r in responses}
    assert len(ids) == 50


async def test_concurrent_integer_ids_for_one_ordinal_give_one_winner(
    client: httpx.AsyncClient,
) -> None:
    await create(client, instance_id="zero")  # takes ordinal 0
    results = await asyncio.gather(
        client.post("/v1/instances", json={"instance_id": "1"}),
        *(client.post("/v1/instances", json={}) for _ in range(10)),
    )
    ordinals = [r.json()["ordinal"] for r in results if r.status_code == 201]
    assert len(ordinals) == len(set(ordinals))
    explicit = results[0]
    if explicit.status_code == 201:
        assert explicit.json()["ordinal"] == 1
    else:
        assert explicit.json()["code"] == "ORDINAL_TAKEN"
