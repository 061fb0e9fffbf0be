"""The dashboard on a server that checks tokens: pages send the signed-out to the
sign-in form and back; a token signs in with a session cookie (HttpOnly,
SameSite=Strict, not the token itself) that the pages and the API take and the data
plane does not; a viewer sees no buttons and is refused anyway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest

from roost.api.app import create_app
from roost.auth import LOCAL_ACTOR
from roost.services import credentials, grants, users
from roost.services.authentication import SESSION_COOKIE
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.settings import Settings
from tests.conftest import opened_context


@dataclass
class Signed:
    ctx: Context
    admin: str
    viewer: str


@pytest.fixture
async def signed(settings: Settings) -> AsyncIterator[Signed]:
    async with opened_context(replace(settings, auth_required=True)) as ctx:
        admin = await users.bootstrap_admin(ctx, LOCAL_ACTOR, None)
        assert admin is not None
        await users.add_user(ctx, LOCAL_ACTOR, "vera")
        await create_instance(ctx, LOCAL_ACTOR, CreateRequest(instance_id="w1"))
        await grants.share(ctx, LOCAL_ACTOR, "w1", "vera", "viewer")
        _, viewer = await credentials.create_token(ctx, LOCAL_ACTOR, role="viewer", user="vera")
        yield Signed(ctx, admin, viewer)


def browser(ctx: Context, address: str = "10.1.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(context=ctx), client=(address, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


async def sign_in(http: httpx.AsyncClient, token: str, going: str = "/") -> httpx.Response:
    return await http.post("/login", data={"token": token, "next": going})


async def test_a_page_sends_the_signed_out_to_sign_in_and_back(signed: Signed) -> None:
    async with browser(signed.ctx) as http:
        asked = await http.get("/instances/w1")
        assert (asked.status_code, asked.headers["location"]) == (303, "/login?next=/instances/w1")
        form = await http.get("/login", params={"next": "/instances/w1"})
        assert form.status_code == 200 and 'name="token"' in form.text
        assert (await http.get("/v1/instances")).status_code == 401  # the API says 401
        done = await sign_in(http, signed.admin, "/instances/w1")
        assert (done.status_code, done.headers["location"]) == (303, "/instances/w1")
        cookie = done.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over TLS it is set
        assert signed.admin not in cookie  # sealed, not the token itself
        page = await http.get("/instances/w1")
        assert page.status_code == 200 and ">w1<" in page.text
        assert (await http.get("/v1/instances")).status_code == 200
        plane = await http.get("/v1/cache/k", headers={"X-Instance-ID": "w1"})
        assert plane.status_code == 401  # the data plane takes no cookie
        out = await http.post("/logout")
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
        http.cookies.clear()
        assert (await http.get("/")).status_code == 303


async def test_a_wrong_token_is_a_form_saying_so_and_counts_as_a_failure(
    signed: Signed,
) -> None:
    async with browser(signed.ctx, "10.1.0.2") as http:
        wrong = await sign_in(http, "roost_0123456789abcdef_not-the-secret")
        assert wrong.status_code == 401 and 'role="alert"' in wrong.text
        assert "set-cookie" not in wrong.headers
        empty = await sign_in(http, "  ")
        assert empty.status_code == 400 and "give a token" in empty.text
        for _ in range(25):
            await sign_in(http, "roost_0123456789abcdef_not-the-secret")
        assert (await sign_in(http, signed.admin)).status_code == 429  # that address waits


async def test_the_way_back_is_only_ever_this_server(signed: Signed) -> None:
    async with browser(signed.ctx, "10.1.0.3") as http:
        for elsewhere in (
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "javascript:alert(1)",
        ):
            done = await sign_in(http, signed.admin, elsewhere)
            assert done.headers["location"] == "/"


async def test_a_viewer_sees_no_buttons_and_is_refused_anyway(signed: Signed) -> None:
    async with browser(signed.ctx, "10.1.0.4") as http:
        await sign_in(http, signed.viewer)
        listing = await http.get("/")
        assert listing.status_code == 200 and "/instances/w1" in listing.text
        assert 'name="action"' not in listing.text and "New instance" not in listing.text
        page = await http.get("/instances/w1")
        assert 'name="action"' not in page.text and ">Secrets</h2>" not in page.text
        for control in ("Save config", ">Clone<", "Delete", "Restore"):
            assert control not in page.text
        apps = await http.get("/apps")
        assert apps.status_code == 200 and "Register an app" not in apps.text
        forced = await http.post("/actions", data={"action": "stop", "instance_id": "w1"})
        assert "Stop: 0 of 1 succeeded" in forced.text and "ACCESS_DENIED" in forced.text
        assert (await http.get("/v1/instances/w1")).json()["state"] == "active"
        refusals = await signed.ctx.registry.read(
            lambda conn: conn.exec_driver_sql(
                "select count(*) from events where outcome = 'denied' and actor = 'vera'"
            ).scalar_one()
        )
        assert refusals == 1  # the forced stop; showing the pages asked without a trace
