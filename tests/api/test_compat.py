"""Seed 000's facade: its three workflows as written, and its edge cases."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

JSON = {"Content-Type": "application/json"}


async def register(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/instance/register", json=body, headers=JSON)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_workflow_1_multi_version_testing(client: httpx.AsyncClient) -> None:
    v1 = await register(
        client, {"product_id": "my-product", "version": "1.0.0", "lcc_url": "http://localhost:7086"}
    )
    v2 = await register(
        client, {"product_id": "my-product", "version": "2.0.0", "lcc_url": "http://localhost:7086"}
    )
    for reply, version in ((v1, "1.0.0"), (v2, "2.0.0")):
        assert reply["success"] is True
        assert reply["product_id"] == "my-product"
        assert reply["version"] == version
        assert reply["message"] == "Instance registered successfully"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", reply["registered_at"])
        assert reply["key"] == f"my-product:{version}:{reply['instance_id']}"
    assert v1["instance_id"] != v2["instance_id"]

    listed = (await client.get("/api/instances")).json()["instances"]
    assert [(i["instance_id"], i["version"]) for i in listed] == [
        (v1["instance_id"], "1.0.0"),
        (v2["instance_id"], "2.0.0"),
    ]
    assert set(listed[0]) == {"instance_id", "product_id", "version", "registered_at"}

    tested = await client.post(
        "/api/instance/test",
        json={"product_id": "my-product", "feature_id": "feature-x"},
        headers=JSON,
    )
    assert tested.status_code == 200
    assert tested.json()["instance_id"] == v1["instance_id"]  # "Uses v1.0.0 client"
    assert tested.json()["version"] == "1.0.0"

    cleared = await client.post(
        "/api/instance/clear",
        json={"product_id": "my-product", "instance_id": v2["instance_id"]},
        headers=JSON,
    )
    assert cleared.status_code == 200
    assert cleared.json()["success"] is True
    assert cleared.json()["message"] == "Instance cleared successfully"
    remaining = (await client.get("/api/instances")).json()["instances"]
    assert [i["instance_id"] for i in remaining] == [v1["instance_id"]]  # v1.0.0 instance remains


async def test_workflow_2_batch_registration(client: httpx.AsyncClient) -> None:
    ids = {}
    for product in ("product-a", "product-b", "product-c"):
        ids[product] = (await register(client, {"product_id": product, "version": "1.5.0"}))[
            "instance_id"
        ]
    listed = (await client.get("/api/instances")).json()["instances"]
    keys = {f"{i['product_id']}:{i['version']}:{i['instance_id']}" for i in listed}
    assert keys == {f"{p}:1.5.0:{ids[p]}" for p in ids}


async def test_workflow_3_independent_quota_tracking(client: httpx.AsyncClient) -> None:
    first = await register(client, {"product_id": "productx", "version": "1.0.0"})
    second = await register(client, {"product_id": "productx", "version": "1.0.0"})
    for reply in (first, second):
        response = await client.post(
            "/api/instance/test",
            json={
                "product_id": "productx",
                "feature_id": "units",
                "instance_id": reply["instance_id"],
                "units": 100,
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["consumed"], body["remaining"], body["limit"]) == (100, 900, 1000)
        assert body["instance_id"] == reply["instance_id"]


async def test_version_defaults_to_1_0_0_and_lcc_url_is_kept_in_config(
    client: httpx.AsyncClient,
) -> None:
    reply = await register(client, {"product_id": "p", "lcc_url": "http://lcc:7086"})
    assert reply["version"] == "1.0.0"
    instance = (await client.get(f"/v1/instances/{reply['instance_id']}")).json()
    assert instance["app"] == "p"
    assert instance["config"] == {"lcc_url": "http://lcc:7086"}


async def test_clear_without_instance_id_clears_every_instance_of_the_product(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        await register(client, {"product_id": "wipe"})
    keep = await register(client, {"product_id": "keep"})
    response = await client.post("/api/instance/clear", json={"product_id": "wipe"})
    assert response.status_code == 200
    assert len(response.json()["cleared"]) == 3
    listed = (await client.get("/api/instances")).json()["instances"]
    assert [i["instance_id"] for i in listed] == [keep["instance_id"]]


async def test_clear_errors(client: httpx.AsyncClient) -> None:
    other = await register(client, {"product_id": "other"})
    await register(client, {"product_id": "mine"})
    unknown = await client.post("/api/instance/clear", json={"product_id": "nothing-here"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "PRODUCT_NOT_FOUND"
    foreign = await client.post(
        "/api/instance/clear", json={"product_id": "mine", "instance_id": other["instance_id"]}
    )
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "INSTANCE_NOT_FOUND"
    assert len((await client.get("/api/instances")).json()["instances"]) == 2


async def test_status_by_product(client: httpx.AsyncClient) -> None:
    reply = await register(client, {"product_id": "stat", "version": "3.1.0"})
    body = (await client.get("/api/instance/status", params={"product_id": "stat"})).json()
    assert body == {
        "product_id": "stat",
        "registered": True,
        "instances": [
            {
                "instance_id": reply["instance_id"],
                "product_id": "stat",
                "version": "3.1.0",
                "registered_at": reply["registered_at"],
            }
        ],
    }
    none = (await client.get("/api/instance/status", params={"product_id": "unknown"})).json()
    assert none == {"product_id": "unknown", "registered": False, "instances": []}


async def test_test_errors_and_quota_exhaustion(client: httpx.AsyncClient) -> None:
    missing = await client.post(
        "/api/instance/test", json={"product_id": "ghost", "feature_id": "f"}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "PRODUCT_NOT_FOUND")
    reply = await register(client, {"product_id": "q"})
    await client.post("/api/instance/clear", json={"product_id": "q"})
    empty = await client.post("/api/instance/test", json={"product_id": "q", "feature_id": "f"})
    assert (empty.status_code, empty.json()["code"]) == (404, "INSTANCE_NOT_FOUND")
    reply = await register(client, {"product_id": "q"})
    used = await client.post(
        "/api/instance/test", json={"product_id": "q", "feature_id": "f", "units": 1000}
    )
    assert used.json()["remaining"] == 0
    over = await client.post("/api/instance/test", json={"product_id": "q", "feature_id": "f"})
    assert over.status_code == 429
    assert over.json()["code"] == "QUOTA_EXCEEDED"
    assert over.json()["instance_id"] == reply["instance_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "has space"},
        {"product_id": ""},
        {"product_id": "a/b"},
        {"product_id": "x" * 129},
        {"product_id": "ProductA\n"},
        {"product_id": "ProductA\t"},
    ],
)
async def test_invalid_product_ids_are_400(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    response = await client.post("/api/instance/register", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PRODUCT_ID"


async def test_register_gives_each_instance_its_own_key_pair(client: httpx.AsyncClient) -> None:
    a = await register(client, {"product_id": "keys"})
    b = await register(client, {"product_id": "keys"})
    pem_a = await client.get(f"/v1/instances/{a['instance_id']}/public-key")
    pem_b = await client.get(f"/v1/instances/{b['instance_id']}/public-key")
    assert pem_a.status_code == pem_b.status_code == 200
    assert pem_a.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert pem_a.text != pem_b.text


async def test_workflow_2_runs_as_written_with_product_ids_as_lcc_gives_them(
    client: httpx.AsyncClient,
) -> None:
    """Seed 000's Workflow 2: three products registered, listed, each its own."""
    made = {}
    for product in ("ProductA", "ProductB", "ProductC"):
        made[product] = await register(client, {"product_id": product, "version": "1.0.0"})
        assert made[product]["product_id"] == product
        assert made[product]["key"].startswith(f"{product}:1.0.0:")
    upper, lower = (
        await register(client, {"product_id": "Case"}),
        await register(client, {"product_id": "case"}),
    )
    listed = (await client.get("/api/instances")).json()["instances"]
    assert [(i["product_id"], i["instance_id"]) for i in listed] == [
        *((p, made[p]["instance_id"]) for p in ("ProductA", "ProductB", "ProductC")),
        ("Case", upper["instance_id"]),
        ("case", lower["instance_id"]),
    ]
    status = (await client.get("/api/instance/status", params={"product_id": "ProductB"})).json()
    assert [i["instance_id"] for i in status["instances"]] == [made["ProductB"]["instance_id"]]
    long_id = "p." + "x" * 126
    assert (await register(client, {"product_id": long_id}))["product_id"] == long_id


async def test_instances_lists_registrations_only_and_no_app_is_taken_over(
    client: httpx.AsyncClient,
) -> None:
    spec = {
        "name": "stack",
        "version": "1",
        "services": {"web": {"command": ["sleep", "600"]}},
    }
    assert (await client.post("/v1/apps", json=spec)).status_code == 201
    assert (await client.post("/v1/instances", json={"instance_id": "plain"})).status_code == 201
    registered = await register(client, {"product_id": "lonely"})
    listed = (await client.get("/api/instances")).json()["instances"]
    assert [i["instance_id"] for i in listed] == [registered["instance_id"]]
    for taken in ("stack", "default"):  # an app with services; an app that is no product
        refused = await client.post("/api/instance/register", json={"product_id": taken})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "PRODUCT_CONFLICT" and refused.json()["app"] == taken
    apps = {a["name"] for a in (await client.get("/v1/apps")).json()["apps"]}
    stack = (await client.get("/v1/instances", params={"app": "stack"})).json()["instances"]
    assert stack == [] and "stack" in apps
