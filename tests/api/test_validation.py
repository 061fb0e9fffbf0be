"""Validation before creation: the app's validate probe, rendered with the new
instance's config, runs first; a failure is 400 VALIDATION_FAILED and leaves nothing but
the refusal (no registry row, no ports, no directory, one event)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from roost.services.context import Context
from tests.servers import free_port


@pytest.fixture
def endpoint() -> Iterator[int]:
    """An external endpoint the new instances are to use: it answers 200."""

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def spec(validate: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "checked",
        "version": "1",
        "ports": {"web": "auto"},
        "config": {"upstream": 1},
        "files": {"upstream.txt": {"content": "{{ config.upstream }}"}},
        "services": {"web": {"command": ["sleep", "1000"], "ports": ["web"]}},
        "validate": validate,
    }


async def create(client: httpx.AsyncClient, instance_id: str, **config: Any) -> httpx.Response:
    body = {"app": "checked", "instance_id": instance_id, "config": config, "validate": True}
    return await client.post("/v1/instances", json=body)


async def test_a_failed_validation_leaves_nothing_but_the_refusal(
    client: httpx.AsyncClient, context: Context, endpoint: int
) -> None:
    probe = {"http": "http://127.0.0.1:{{ config.upstream }}/health", "timeout": "1s"}
    assert (await client.post("/v1/apps", json=spec(probe))).status_code == 201
    good = await create(client, "good", upstream=endpoint)
    assert good.status_code == 201, good.text
    dead = free_port()
    refused = await create(client, "bad", upstream=dead)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["code"] == "VALIDATION_FAILED"
    assert body["probe_error"].startswith(f"cannot reach http://127.0.0.1:{dead}/health")
    assert (await client.get("/v1/instances/bad")).status_code == 404
    ports = (await client.get("/v1/ports")).json()["ports"]
    assert {p["instance_id"] for p in ports} == {"good"}
    assert not (context.home.path / "instances" / "bad").exists()
    events = (await client.get("/v1/events", params={"instance_id": "bad"})).json()["events"]
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("instance.validation_failed", "error")
    ]
    assert events[0]["details"]["error"] == body["probe_error"]
    plain = await client.post("/v1/instances", json={"app": "checked", "instance_id": "bad"})
    assert plain.status_code == 201  # without validate, nothing is asked


async def test_tcp_and_cmd_probes_see_the_new_instance(
    client: httpx.AsyncClient, endpoint: int
) -> None:
    tcp = spec({"tcp": "127.0.0.1:{{ config.upstream }}"})
    assert (await client.post("/v1/apps", json=tcp)).status_code == 201
    assert (await create(client, "t1", upstream=endpoint)).status_code == 201
    closed = await create(client, "t2", upstream=free_port())
    assert closed.json()["code"] == "VALIDATION_FAILED"
    assert "Connection refused" in closed.json()["probe_error"]
    cmd = {**spec({"cmd": ["sh", "-c", 'test "$ROOST_INSTANCE_ID" = "{{ instance.id }}-ok"']})}
    cmd["version"] = "2"
    assert (await client.post("/v1/apps", json=cmd)).is_success
    failed = await client.post(
        "/v1/instances",
        json={"app": "checked", "version": "2", "instance_id": "c1", "validate": True},
    )
    assert (failed.status_code, failed.json()["probe_error"]) == (400, "'sh' exited 1")


async def test_validate_on_an_app_without_a_probe_is_refused(client: httpx.AsyncClient) -> None:
    refused = await client.post("/v1/instances", json={"instance_id": "x", "validate": True})
    assert (refused.status_code, refused.json()["code"]) == (400, "NOTHING_TO_VALIDATE")
    assert (await client.get("/v1/instances/x")).status_code == 404
