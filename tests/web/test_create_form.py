"""The form for a new instance: what it makes, and each refusal shown beside its field
with what was typed kept."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.servers import free_base

BASE = free_base()


def problem_of(html: str, field: str) -> str:
    """The message shown beside ``field`` (and that the field points to it)."""
    assert f'id="f-{field}"' in html
    assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true" aria-describedby="e-{field}"', html)
    found = re.search(rf'<p class="problem" id="e-{field}" role="alert">([^<]*)</p>', html)
    assert found is not None, f"no problem beside {field}"
    return found.group(1)


async def test_the_form_makes_an_instance_and_goes_to_its_page(
    client: httpx.AsyncClient,
) -> None:
    spec = {"name": "game", "version": "1", "ports": {"http": BASE}}
    assert (await client.post("/v1/apps", json=spec)).status_code == 201
    form = (await client.get("/new")).text
    for label in ("App", "Id", "Name", "Version", "Tags", "Config", "Ports"):
        assert f">{label}</label>" in form
    assert "<option>game</option>" in form
    made = await client.post(
        "/new",
        data={
            "app": "game",
            "instance_id": "pvp",
            "name": "PvP server",
            "tags": "eu, ranked",
            "config": '{"difficulty": "hard"}',
            "ports": f"http={BASE + 7}",
        },
    )
    assert (made.status_code, made.headers["location"]) == (303, "/instances/pvp")
    instance = (await client.get("/v1/instances/pvp")).json()
    assert (instance["name"], instance["tags"]) == ("PvP server", ["eu", "ranked"])
    assert instance["config"] == {"difficulty": "hard"} and instance["ports"] == {"http": BASE + 7}


@pytest.mark.parametrize(
    ("fields", "field", "status", "said"),
    [
        ({"instance_id": "taken"}, "instance_id", 409, "INSTANCE_EXISTS"),
        ({"instance_id": "bad id!"}, "instance_id", 400, "INVALID_INSTANCE_ID"),
        ({"app": "nosuchapp"}, "app", 404, "APP_NOT_FOUND"),
        ({"config": "{not json"}, "config", 400, "not JSON"),
        ({"config": "[1, 2]"}, "config", 400, "a JSON object"),
        ({"tags": "ok bad!tag"}, "tags", 422, "String should match pattern"),
        ({"ports": "http=abc"}, "ports", 400, "write name=port"),
        ({"ports": "nosuch=20001"}, "ports", 400, "UNKNOWN_PORT"),
    ],
)
async def test_each_refusal_is_shown_beside_its_field(
    client: httpx.AsyncClient, fields: dict[str, str], field: str, status: int, said: str
) -> None:
    assert (await client.post("/v1/instances", json={"instance_id": "taken"})).status_code == 201
    answer = await client.post("/new", data={"name": "kept <as typed>", **fields})
    assert answer.status_code == status, answer.text
    assert said in problem_of(answer.text, field)
    assert 'value="kept &lt;as typed&gt;"' in answer.text  # what was typed stays, escaped
    listed = (await client.get("/v1/instances")).json()["instances"]
    assert [i["instance_id"] for i in listed] == ["taken"]  # nothing else was made
