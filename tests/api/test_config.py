from __future__ import annotations

import httpx


async def test_effective_config_is_app_defaults_under_overrides(client: httpx.AsyncClient) -> None:
    app = {
        "name": "svc",
        "version": "1",
        "config": {"log_level": "info", "db": {"pool": 5, "host": "localhost"}},
    }
    await client.post("/v1/apps", json=app)
    await client.post(
        "/v1/instances", json={"app": "svc", "instance_id": "c", "config": {"db": {"pool": 20}}}
    )
    got = (await client.get("/v1/instances/c/config")).json()
    assert got == {
        "instance_id": "c",
        "config": {"log_level": "info", "db": {"pool": 20, "host": "localhost"}},
        "overrides": {"db": {"pool": 20}},
    }
    patched = (
        await client.patch(
            "/v1/instances/c/config", json={"log_level": "debug", "db": {"pool": None}}
        )
    ).json()
    assert patched["overrides"] == {"log_level": "debug", "db": {}}
    assert patched["config"] == {"log_level": "debug", "db": {"pool": 5, "host": "localhost"}}
    replaced = (await client.put("/v1/instances/c/config", json={"extra": [1, 2]})).json()
    assert replaced["overrides"] == {"extra": [1, 2]}
    assert replaced["config"]["log_level"] == "info"
    # a new app version with other defaults does not change this instance's effective config
    await client.post("/v1/apps", json={**app, "version": "2", "config": {"log_level": "warn"}})
    assert (await client.get("/v1/instances/c/config")).json()["config"]["log_level"] == "info"
    changes = [
        e
        for e in (await client.get("/v1/events", params={"instance_id": "c"})).json()["events"]
        if e["action"] == "instance.update"
    ]
    assert [e["details"] for e in changes] == [{"changed": ["config"]}, {"changed": ["config"]}]


async def test_config_errors(client: httpx.AsyncClient) -> None:
    await client.post("/v1/instances", json={"instance_id": "e"})
    assert (await client.put("/v1/instances/e/config", json=[1])).json()[
        "code"
    ] == "VALIDATION_ERROR"
    assert (await client.put("/v1/instances/e/config", json={"k": "a\x00"})).json()[
        "code"
    ] == "INVALID_CONFIG"
    assert (await client.get("/v1/instances/ghost/config")).json()["code"] == "INSTANCE_NOT_FOUND"
