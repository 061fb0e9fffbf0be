"""Every error on every route is JSON {"error", "code"}: never HTML, never a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from roost.api.app import create_app
from roost.services.context import Context


@pytest.fixture
async def raw_client(context: Context) -> AsyncIterator[httpx.AsyncClient]:
    """A client over an app with one route that fails, to see what a 500 looks like."""
    app = create_app(context=context)

    @app.api.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield http


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "NOT_FOUND"


async def test_wrong_method_is_json_405(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/instances")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_malformed_json_is_422_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/instances", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["fields"][0]["type"] == "json_invalid"


async def test_unexpected_failure_is_json_500_without_internals(
    raw_client: httpx.AsyncClient,
) -> None:
    response = await raw_client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "code": "INTERNAL_ERROR"}
    assert "secret internals" not in response.text


async def test_health_has_the_seed_001_shape_and_touches_nothing(client: httpx.AsyncClient) -> None:
    plain = await client.get("/health")
    assert plain.status_code == 200
    body = plain.json()
    assert set(body) == {"status", "mode", "timestamp"}
    assert (body["status"], body["mode"]) == ("healthy", "primary")
    assert isinstance(body["timestamp"], int)
    assert len(plain.headers["X-Roost-Home"]) == 16  # which home, without saying where
    scoped = (await client.get("/health", headers={"X-Instance-ID": "game-instance-123"})).json()
    assert scoped["instance_id"] == "game-instance-123"
    assert (await client.get("/v1/instances")).json()["instances"] == []
    assert (await client.get("/v1/events")).json()["events"] == []
    bad = await client.get("/health", headers={"X-Instance-ID": "Bad Id"})
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_INSTANCE_ID")


async def test_every_error_status_in_the_openapi_document_uses_the_error_schema(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/cache/{key}" in spec["paths"]  # served outside FastAPI, still described
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            if not path.startswith("/v1/cache"):
                assert {"400", "404", "409", "422"} <= set(responses), (method, path)
            for status, response in responses.items():
                if (path, status) == ("/health", "503"):
                    continue  # an unhealthy server still answers in seed 001's health shape
                if status.startswith(("4", "5")) and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
