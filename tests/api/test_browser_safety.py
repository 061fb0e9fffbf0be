"""Safe defaults a browser cannot get around, with or without auth: no cross-origin
request acts, only this server's own names are served, and only JSON reaches a route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from roost.settings import Settings
from tests.conftest import client_for

# what a browser adds to a request a page on another site makes it send
CROSS_SITE = {"sec-fetch-site": "cross-site", "origin": "https://evil.example"}
SAME_SITE = {"sec-fetch-site": "same-site", "origin": "https://sub.localhost.example"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


async def make(client: httpx.AsyncClient, instance_id: str) -> None:
    created = await client.post("/v1/instances", json={"instance_id": instance_id})
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("headers", [CROSS_SITE, SAME_SITE, {"origin": "https://evil.example"}])
async def test_a_cross_origin_request_never_acts(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await make(client, "web")
    for method, path in (
        ("POST", "/v1/instances/web/stop"),
        ("POST", "/v1/secret-key/rotate"),
        ("POST", "/v1/recover"),
        ("DELETE", "/v1/instances/web"),
        ("PUT", "/v1/cache/k?instance_id=web"),
        ("GET", "/v1/cache/k?instance_id=made-by-a-page"),  # a GET that would create
        ("POST", "/api/instance/register"),
    ):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "CROSS_ORIGIN"
    assert (await client.get("/v1/instances/web")).json()["state"] == "active"
    assert (await client.get("/v1/instances/made-by-a-page")).status_code == 404


async def test_same_origin_and_non_browser_requests_pass(client: httpx.AsyncClient) -> None:
    await make(client, "ok")
    own = {"sec-fetch-site": "same-origin", "origin": "http://localhost"}
    assert (await client.post("/v1/instances/ok/stop", headers=own)).status_code == 200
    typed = {"sec-fetch-site": "none"}  # the address bar, a bookmark
    assert (await client.post("/v1/instances/ok/start", headers=typed)).status_code == 200
    old_browser = {"origin": "http://localhost"}  # no Sec-Fetch-Site: Origin matches Host
    assert (await client.post("/v1/instances/ok/stop", headers=old_browser)).status_code == 200
    assert (await client.post("/v1/instances/ok/start")).status_code == 200  # curl, SDKs
    reads = await client.get("/v1/instances", headers=CROSS_SITE)
    assert reads.status_code == 200  # reading the control plane changes nothing


@pytest.fixture
async def trusting(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(replace(settings, trusted_origins=("https://panel.example",))) as http:
        yield http


async def test_a_trusted_origin_may_act(trusting: httpx.AsyncClient) -> None:
    await make(trusting, "t")
    panel = {"sec-fetch-site": "cross-site", "origin": "https://panel.example"}
    assert (await trusting.post("/v1/instances/t/stop", headers=panel)).status_code == 200
    assert (await trusting.post("/v1/instances/t/start", headers=CROSS_SITE)).status_code == 403


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8080", "127.0.0.1", "127.0.0.2:9", "[::1]:8080", "app.localhost"],
)
async def test_loopback_names_are_served(client: httpx.AsyncClient, host: str) -> None:
    assert (await client.get("/v1/instances", headers={"host": host})).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "10.0.0.8", "localhost.evil"]
)
async def test_any_other_name_is_misdirected(client: httpx.AsyncClient, host: str) -> None:
    """A DNS-rebinding page reaches the server under its own name."""
    for method, path in (("GET", "/v1/instances"), ("PUT", "/v1/cache/k?instance_id=r")):
        response = await client.request(method, path, headers={"host": host})
        assert response.status_code == 421, response.text
        assert response.json()["code"] == "MISDIRECTED_REQUEST"


async def test_a_name_in_the_allowed_hosts_is_served(settings: Settings) -> None:
    async with client_for(replace(settings, allowed_hosts=("roost.lan",))) as http:
        assert (
            await http.get("/v1/instances", headers={"host": "roost.lan:8080"})
        ).status_code == 200
        assert (await http.get("/v1/instances", headers={"host": "other.lan"})).status_code == 421


async def test_only_json_reaches_a_route(client: httpx.AsyncClient) -> None:
    await make(client, "j")
    refused = [
        await client.post(
            "/v1/instances", content=b'{"instance_id": "x"}', headers={"content-type": "text/plain"}
        ),
        await client.post("/v1/instances/j/stop", content=b"a=b", headers=FORM),
        await client.post("/v1/instances/j/stop", headers=FORM),  # a form without fields
        await client.post(
            "/v1/secret-key/rotate", headers={"content-type": "multipart/form-data; boundary=x"}
        ),
        await client.post("/v1/instances", content=b'{"instance_id": "y"}'),  # no type at all
        await client.post(
            "/v1/cache/batch/set?instance_id=j",
            content=b'{"entries": {"k": "v"}}',
            headers={"content-type": "text/plain"},
        ),
    ]
    for response in refused:
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert (await client.get("/v1/instances/x")).status_code == 404
    assert (await client.get("/v1/cache/k", params={"instance_id": "j"})).status_code == 404
    assert (await client.post("/v1/instances/j/stop")).status_code == 200  # no body, no type
    typed = {"content-type": "application/json; charset=utf-8"}
    assert (
        await client.post("/v1/instances", content=b'{"instance_id": "z"}', headers=typed)
    ).status_code == 201
    assert (await client.put("/v1/cache/k?instance_id=z", content=b"raw bytes")).status_code == 204


async def test_no_cors_headers_unless_origins_are_trusted(
    client: httpx.AsyncClient, trusting: httpx.AsyncClient
) -> None:
    ask = {"origin": "https://panel.example", "access-control-request-method": "POST"}
    plain = await client.options("/v1/instances", headers=ask)
    assert "access-control-allow-origin" not in plain.headers
    preflight = await trusting.options("/v1/instances", headers=ask)
    assert preflight.headers["access-control-allow-origin"] == "https://panel.example"
    other = await trusting.options(
        "/v1/instances", headers={**ask, "origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
