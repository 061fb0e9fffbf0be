"""The data plane over HTTP: seed 001's examples and every rule around them.

Runs twice: SQLite registry with the embedded store, PostgreSQL with Redis.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace

import httpx

from roost.services.context import Context
from roost.settings import Settings
from tests.conftest import client_for, forget_prefix


def inst(instance_id: str) -> dict[str, str]:
    return {"X-Instance-ID": instance_id}


async def test_seed_001_examples(http: httpx.AsyncClient) -> None:
    # First request creates the instance automatically
    put = await http.put(
        "/v1/cache/player-score",
        headers={
            "X-Instance-ID": "minecraft-server-001",
            "Content-Type": "application/octet-stream",
        },
        content="1500",
    )
    assert put.status_code == 204
    got = await http.get("/v1/cache/player-score", headers=inst("minecraft-server-001"))
    assert (got.status_code, got.content) == (200, b"1500")
    assert got.headers["content-type"] == "application/octet-stream"
    # Different instance cannot see the data
    other = await http.get("/v1/cache/player-score", headers=inst("minecraft-server-002"))
    assert other.status_code == 404
    # query parameter alternative
    by_query = await http.get("/v1/cache/player-score?instance_id=minecraft-server-001")
    assert by_query.content == b"1500"
    # batch operations
    for key, value in (("player1", "Alice"), ("player2", "Bob")):
        await http.put(f"/v1/cache/{key}", headers=inst("game-001"), content=value)
    batch = await http.post(
        "/v1/cache/batch/get",
        headers={**inst("game-001"), "Content-Type": "application/json"},
        json={"keys": ["player1", "player2", "player3"]},
    )
    assert batch.json() == {
        "entries": {"player1": "Alice", "player2": "Bob"},
        "missing": ["player3"],
    }
    health = (await http.get("/health", headers=inst("game-instance-123"))).json()
    assert health["instance_id"] == "game-instance-123" and health["status"] == "healthy"


async def test_auto_created_instances_get_the_seed_defaults(http: httpx.AsyncClient) -> None:
    await http.put("/v1/cache/k", headers=inst("fresh"), content="v")
    instance = (await http.get("/v1/instances/fresh")).json()
    assert instance["app"] == "cache"
    assert instance["state"] == "active"
    assert instance["config"] == {
        "game_type": "default",
        "region": "default",
        "resource_quota": {"memory": "8GB", "storage": "100GB", "cpu_cores": 4},
    }


async def test_instance_context_errors(http: httpx.AsyncClient) -> None:
    cases = [
        (http.get("/v1/cache/k"), 400, "MISSING_INSTANCE_ID"),
        (http.put("/v1/cache/k", content="v"), 400, "MISSING_INSTANCE_ID"),
        (http.delete("/v1/cache/k"), 400, "MISSING_INSTANCE_ID"),
        (http.get("/v1/cache"), 400, "MISSING_INSTANCE_ID"),
        (http.post("/v1/cache/batch/set", json={"entries": {}}), 400, "MISSING_INSTANCE_ID"),
        (http.post("/v1/cache/batch/delete", json={"keys": []}), 400, "MISSING_INSTANCE_ID"),
        (http.get("/v1/cache/k", headers=inst("Not Valid")), 400, "INVALID_INSTANCE_ID"),
        (http.get("/v1/cache/k?instance_id=b", headers=inst("a")), 400, "CONFLICTING_INSTANCE_ID"),
    ]
    for call, status, code in cases:
        response = await call
        assert (response.status_code, response.json()["code"]) == (status, code)
    missing = (await http.get("/v1/cache/k")).json()
    assert missing == {"error": "instance ID is required", "code": "MISSING_INSTANCE_ID"}
    assert (await http.get("/v1/instances")).json()["instances"] == []  # nothing was created


async def test_batch_get_without_an_instance_uses_default(http: httpx.AsyncClient) -> None:
    await http.put("/v1/cache/k", headers=inst("default"), content="from default")
    response = await http.post("/v1/cache/batch/get", json={"keys": ["k"]})
    assert response.json() == {"entries": {"k": "from default"}, "missing": []}


async def test_only_active_and_migrating_instances_are_served(
    http: httpx.AsyncClient, plane_context: Context
) -> None:
    await http.put("/v1/cache/k", headers=inst("s"), content="v")
    await http.post("/v1/instances/s/stop")
    response = await http.get("/v1/cache/k", headers=inst("s"))  # the very next request
    assert response.status_code == 409
    assert response.json() == {
        "error": "instance is inactive",
        "code": "INSTANCE_INACTIVE",
        "instance_id": "s",
        "status": "inactive",
    }
    await http.post("/v1/instances/s/start")
    assert (await http.get("/v1/cache/k", headers=inst("s"))).content == b"v"
    await http.post("/v1/instances/s/pause")
    paused = await http.put("/v1/cache/k", headers=inst("s"), content="w")
    assert paused.json()["status"] == "paused"


async def test_without_auto_create_unknown_instances_are_404(
    plane_settings: Settings, redis_prefix: str
) -> None:
    try:
        async with client_for(replace(plane_settings, cache_auto_create=False)) as http:
            response = await http.put("/v1/cache/k", headers=inst("nobody"), content="v")
            assert response.status_code == 404
            assert response.json()["code"] == "INSTANCE_NOT_FOUND"
            await http.post("/v1/instances", json={"instance_id": "known"})
            assert (
                await http.put("/v1/cache/k", headers=inst("known"), content="v")
            ).status_code == 204
    finally:
        await forget_prefix(redis_prefix)


async def test_keys_with_slashes_colons_and_any_utf8(http: httpx.AsyncClient) -> None:
    keys = ["a/b/c", "user:42:score", "naïve ✓", "..", "x%2Fy", "q?x=1"]
    for key in keys:
        quoted = httpx.URL("/v1/cache/").copy_with(raw_path=b"/v1/cache/" + _quote(key)).raw_path
        put = await http.put(quoted.decode(), headers=inst("u"), content=key.encode())
        assert put.status_code == 204, (key, put.text)
    listed = (await http.get("/v1/cache", headers=inst("u"), params={"limit": 100})).json()
    assert listed["keys"] == sorted(keys, key=str.encode)
    batch = await http.post("/v1/cache/batch/get", headers=inst("u"), json={"keys": keys})
    assert batch.json()["entries"] == {key: key for key in keys}


def _quote(key: str) -> bytes:
    from urllib.parse import quote

    # dots encoded too, or the client would resolve ".." before sending
    return quote(key, safe="/:").replace(".", "%2E").encode()


async def test_key_length_limit(http: httpx.AsyncClient) -> None:
    ok = await http.put("/v1/cache/" + "k" * 1024, headers=inst("l"), content="v")
    assert ok.status_code == 204
    too_long = await http.put("/v1/cache/" + "k" * 1025, headers=inst("l"), content="v")
    assert (too_long.status_code, too_long.json()["code"]) == (400, "INVALID_KEY")
    multibyte = await http.put(
        "/v1/cache/" + "é" * 513, headers=inst("l"), content="v"
    )  # 1026 bytes
    assert multibyte.json()["code"] == "INVALID_KEY"


async def test_ttl_header(http: httpx.AsyncClient) -> None:
    await http.put("/v1/cache/t", headers={**inst("t"), "X-TTL-Seconds": "0.3"}, content="v")
    assert (await http.get("/v1/cache/t", headers=inst("t"))).status_code == 200
    await asyncio.sleep(0.5)
    assert (await http.get("/v1/cache/t", headers=inst("t"))).status_code == 404
    for bad in ("0", "-1", "soon", "nan", "1e20"):
        response = await http.put(
            "/v1/cache/t", headers={**inst("t"), "X-TTL-Seconds": bad}, content="v"
        )
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_TTL")


async def test_head_and_delete(http: httpx.AsyncClient) -> None:
    await http.put("/v1/cache/h", headers=inst("h"), content="12345")
    head = await http.head("/v1/cache/h", headers=inst("h"))
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "5", b"")
    assert (await http.head("/v1/cache/nope", headers=inst("h"))).status_code == 404
    assert (await http.delete("/v1/cache/h", headers=inst("h"))).status_code == 204
    gone = await http.delete("/v1/cache/h", headers=inst("h"))
    assert (gone.status_code, gone.json()["code"]) == (404, "KEY_NOT_FOUND")


async def test_batch_set_delete_and_binary_values(http: httpx.AsyncClient) -> None:
    written = await http.post(
        "/v1/cache/batch/set", headers=inst("b"), json={"entries": {"a": "1", "b": "2", "c": "3"}}
    )
    assert written.json() == {"written": 3}
    await http.put("/v1/cache/bin", headers=inst("b"), content=b"\xff\x00\xfe")
    got = (
        await http.post("/v1/cache/batch/get", headers=inst("b"), json={"keys": ["a", "bin"]})
    ).json()
    assert got["entries"] == {"a": "1", "bin": base64.b64encode(b"\xff\x00\xfe").decode()}
    assert got["base64_keys"] == ["bin"]
    encoded = (
        await http.post(
            "/v1/cache/batch/get?encoding=base64", headers=inst("b"), json={"keys": ["a"]}
        )
    ).json()
    assert encoded["entries"] == {"a": base64.b64encode(b"1").decode()}
    raw = {"raw": base64.b64encode(bytes(range(256))).decode()}
    await http.post("/v1/cache/batch/set?encoding=base64", headers=inst("b"), json={"entries": raw})
    assert (await http.get("/v1/cache/raw", headers=inst("b"))).content == bytes(range(256))
    deleted = await http.post(
        "/v1/cache/batch/delete", headers=inst("b"), json={"keys": ["a", "b", "zz"]}
    )
    assert deleted.json() == {"deleted": 2}


async def test_batch_limits_and_bad_bodies(http: httpx.AsyncClient) -> None:
    keys = [f"k{n}" for n in range(1001)]
    for path, body in (
        ("/v1/cache/batch/get", {"keys": keys}),
        ("/v1/cache/batch/delete", {"keys": keys}),
        ("/v1/cache/batch/set", {"entries": {k: "v" for k in keys}}),
    ):
        response = await http.post(path, headers=inst("x"), json=body)
        assert (response.status_code, response.json()["code"]) == (400, "BATCH_TOO_LARGE")
    typed = {**inst("x"), "content-type": "application/json"}  # untyped: 415, tested apart
    for raw in (b"not json", b"[1]", b'{"keys": "a"}', b'{"keys": [1]}'):
        response = await http.post("/v1/cache/batch/get", headers=typed, content=raw)
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_BODY")
    exact = await http.post("/v1/cache/batch/get", headers=inst("x"), json={"keys": keys[:1000]})
    assert exact.status_code == 200


async def test_listing_pages_with_prefix_and_cursor(http: httpx.AsyncClient) -> None:
    entries = {f"user/{n:03}": "v" for n in range(25)} | {"other": "v"}
    await http.post("/v1/cache/batch/set", headers=inst("p"), json={"entries": entries})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"prefix": "user/", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/v1/cache", headers=inst("p"), params=params)).json()
        seen += page["keys"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(k for k in entries if k.startswith("user/"))
    for bad, code in (({"limit": "0"}, "INVALID_LIMIT"), ({"cursor": "%%%"}, "INVALID_CURSOR")):
        response = await http.get("/v1/cache", headers=inst("p"), params=bad)
        assert response.json()["code"] == code


async def test_storage_quotas_from_config(http: httpx.AsyncClient) -> None:
    await http.post(
        "/v1/instances",
        json={"instance_id": "q", "config": {"cache": {"max_keys": 2, "max_bytes": 100}}},
    )
    assert (await http.put("/v1/cache/a", headers=inst("q"), content="1")).status_code == 204
    assert (await http.put("/v1/cache/b", headers=inst("q"), content="1")).status_code == 204
    refused = await http.put("/v1/cache/c", headers=inst("q"), content="1")
    assert (refused.status_code, refused.json()["code"]) == (507, "STORAGE_QUOTA_EXCEEDED")
    assert (await http.get("/v1/cache/c", headers=inst("q"))).status_code == 404
    big = await http.put("/v1/cache/a", headers=inst("q"), content="x" * 200)
    assert big.status_code == 507
    await http.patch("/v1/instances/q", json={"config": {"cache": {"max_keys": 3}}})
    assert (await http.put("/v1/cache/c", headers=inst("q"), content="1")).status_code == 204


async def test_value_size_limit(plane_settings: Settings, redis_prefix: str) -> None:
    try:
        async with client_for(replace(plane_settings, cache_max_value_bytes=1000)) as http:
            ok = await http.put("/v1/cache/k", headers=inst("v"), content=b"x" * 1000)
            assert ok.status_code == 204
            big = await http.put("/v1/cache/k", headers=inst("v"), content=b"x" * 1001)
            assert (big.status_code, big.json()["code"]) == (413, "VALUE_TOO_LARGE")
            assert len((await http.get("/v1/cache/k", headers=inst("v"))).content) == 1000
    finally:
        await forget_prefix(redis_prefix)


async def test_deleting_an_instance_deletes_its_namespace(http: httpx.AsyncClient) -> None:
    await http.put("/v1/cache/k", headers=inst("gone"), content="v")
    await http.put("/v1/cache/k", headers=inst("kept"), content="v")
    assert (await http.delete("/v1/instances/gone")).status_code == 204
    await http.post("/v1/instances", json={"instance_id": "gone"})  # a new instance, same id
    assert (await http.get("/v1/cache/k", headers=inst("gone"))).status_code == 404
    assert (await http.get("/v1/cache/k", headers=inst("kept"))).content == b"v"


async def test_data_plane_traffic_writes_no_events(http: httpx.AsyncClient) -> None:
    for n in range(20):
        await http.put(f"/v1/cache/k{n}", headers=inst("quiet"), content="v")
        await http.get(f"/v1/cache/k{n}", headers=inst("quiet"))
    events = (await http.get("/v1/events", params={"instance_id": "quiet"})).json()["events"]
    assert [e["action"] for e in events] == ["cache.auto-create"]


async def test_methods_not_allowed(http: httpx.AsyncClient) -> None:
    for response in (
        await http.post("/v1/cache/k", headers=inst("m")),
        await http.put("/v1/cache", headers=inst("m")),
    ):
        assert (response.status_code, response.json()["code"]) == (405, "METHOD_NOT_ALLOWED")


async def test_traffic_is_counted_in_metrics(http: httpx.AsyncClient) -> None:
    for n in range(3):
        await http.put(f"/v1/cache/k{n}", headers=inst("m"), content="v")
    await http.get("/v1/cache/k0", headers=inst("m"))
    await http.get("/v1/cache/nope", headers=inst("m"))
    await http.get("/v1/cache/k0")
    await http.post("/v1/cache/batch/get", headers=inst("m"), json={"keys": ["k1"]})
    scraped = await http.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert 'roost_cache_requests_total{operation="put",outcome="ok"} 3.0' in text
    assert 'roost_cache_requests_total{operation="get",outcome="ok"} 1.0' in text
    assert 'roost_cache_requests_total{operation="get",outcome="KEY_NOT_FOUND"} 1.0' in text
    assert 'roost_cache_requests_total{operation="get",outcome="MISSING_INSTANCE_ID"} 1.0' in text
    assert 'roost_cache_requests_total{operation="batch_get",outcome="ok"} 1.0' in text
