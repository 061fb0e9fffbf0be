"""A server that checks tokens: what each caller sees, what is recorded, how failures are
slowed down, and what an instance's own data-plane token may do."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest

from roost.auth import LOCAL_ACTOR
from roost.services import credentials, grants, secrets, users
from roost.services.authentication import FAILURES_ALLOWED
from roost.services.context import Context
from roost.settings import Settings
from roost.tokens import cache_token
from tests.conftest import opened_context

SECRET = "s3cr3t-value-never-shown"


@dataclass
class Server:
    ctx: Context
    admin: str
    alice: str  # owner of "a1" (made through the API with this token)
    vera: str  # viewer of "a1"

    def client(self, token: str | None, address: str = "10.1.0.1") -> httpx.AsyncClient:
        from roost.api.app import create_app

        transport = httpx.ASGITransport(app=create_app(context=self.ctx), client=(address, 1))
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(transport=transport, base_url="http://server.lan", headers=headers)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[Server]:
    async with opened_context(replace(settings, auth_required=True)) as ctx:
        admin = await users.bootstrap_admin(ctx, LOCAL_ACTOR, None)
        assert admin is not None
        for name in ("alice", "vera"):
            await users.add_user(ctx, LOCAL_ACTOR, name)
        _, alice = await credentials.create_token(ctx, LOCAL_ACTOR, role="owner", user="alice")
        _, vera = await credentials.create_token(ctx, LOCAL_ACTOR, role="viewer", user="vera")
        made = Server(ctx, admin, alice, vera)
        async with made.client(alice) as http:
            assert (await http.post("/v1/instances", json={"instance_id": "a1"})).status_code == 201
        await grants.share(ctx, LOCAL_ACTOR, "a1", "vera", "viewer")
        await secrets.set_secret(ctx, LOCAL_ACTOR, "a1", "api_key", SECRET)
        yield made


async def test_the_creator_owns_and_lists_show_only_what_one_may_see(server: Server) -> None:
    async with server.client(server.admin) as admin:
        assert (await admin.post("/v1/instances", json={"instance_id": "adm"})).status_code == 201
        product = {"product_id": "ProductA", "version": "1.0.0"}
        assert (await admin.post("/api/instance/register", json=product)).status_code == 200
        everything = {
            i["instance_id"] for i in (await admin.get("/v1/instances")).json()["instances"]
        }
        assert {"a1", "adm"} < everything  # and the product registration
    async with server.client(server.alice) as alice:
        registered = await alice.post("/api/instance/register", json=product)
        assert registered.status_code == 200, registered.text
        own_product = registered.json()["instance_id"]
        theirs = (await alice.get("/v1/instances")).json()["instances"]
        assert sorted((i["instance_id"], i["owner"]) for i in theirs) == sorted(
            [("a1", "alice"), (own_product, "alice")]
        )
        assert (await alice.get("/v1/instances/adm")).json()["code"] == "ACCESS_DENIED"
        assert (await alice.get("/v1/instances/nope")).json()["code"] == "INSTANCE_NOT_FOUND"
        ports = (await alice.get("/v1/ports")).json()["ports"]
        assert {p["instance_id"] for p in ports} <= {"a1", own_product}
        facade = (await alice.get("/api/instances")).json()["instances"]
        assert [i["instance_id"] for i in facade] == [own_product]  # products only, hers
        events = (await alice.get("/v1/events")).json()["events"]
        assert events and {e["instance_id"] for e in events} == {"a1", own_product}


async def test_a_viewer_never_sees_a_secret_value(server: Server) -> None:
    async with server.client(server.vera) as vera:
        seen = []
        for path in (
            "/v1/instances/a1",
            "/v1/instances/a1/config",
            "/v1/instances/a1/export",
            "/v1/instances/a1/secrets",
            "/v1/instances/a1/secrets/api_key",
            "/v1/events?limit=1000",
            "/metrics",
            "/v1/instances/a1/services",
        ):
            response = await vera.get(path)
            seen.append(response.text)
        assert (await vera.get("/v1/instances/a1/secrets/api_key")).status_code == 403
    async with server.client(server.admin) as admin:
        seen.append((await admin.get("/v1/events?limit=1000")).text)
        seen.append((await admin.get("/metrics")).text)
    assert not any(SECRET in text for text in seen)


async def test_no_log_line_holds_a_secret_value_or_a_token(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fresh = "another-s3cr3t-in-no-log"
    async with server.client(server.alice) as alice:
        put = await alice.put("/v1/instances/a1/secrets/db_password", json={"value": fresh})
        assert put.status_code == 204
        assert (await alice.get("/v1/instances/a1/secrets/db_password")).json()["value"] == fresh
        assert (await alice.post("/v1/instances/a1/secrets/db_password", json={})).is_error
    async with server.client(server.vera) as vera:
        assert (await vera.get("/v1/instances/a1/secrets/db_password")).status_code == 403
    async with server.client(server.vera + "x", "10.1.0.9") as forged:
        assert (await forged.get("/v1/instances")).status_code == 401
    assert caplog.records, "the requests above log nothing: this test would prove nothing"
    logged = "\n".join(
        record.getMessage() + repr(record.args) + repr(record.__dict__) for record in caplog.records
    )
    for hidden in (fresh, SECRET, server.alice, server.vera, server.admin):
        assert hidden not in logged


async def test_refusals_and_failures_are_events_with_actor_and_token(server: Server) -> None:
    async with server.client(server.vera, "10.1.0.2") as vera:
        assert (await vera.delete("/v1/instances/a1")).status_code == 403
    async with server.client("roost_bad_token", "10.1.0.3") as bad:
        assert (await bad.get("/v1/instances")).status_code == 401
    async with server.client(server.admin) as admin:
        denied = (await admin.get("/v1/events", params={"outcome": "denied"})).json()["events"]
        refusal = next(e for e in denied if e["action"] == "instance.delete")
        assert refusal["actor"] == "vera" and refusal["instance_id"] == "a1"
        assert refusal["token"] is not None and refusal["token"] in server.vera
        failure = next(e for e in denied if e["action"] == "auth.failed")
        assert failure["actor"] == "anonymous" and failure["details"]["address"] == "10.1.0.3"
        by_vera = (await admin.get("/v1/events", params={"actor": "vera"})).json()["events"]
        assert {e["actor"] for e in by_vera} == {"vera"}
        made = (await admin.get("/v1/events", params={"instance_id": "a1"})).json()["events"]
        create = next(e for e in made if e["action"] == "instance.create")
        assert create["actor"] == "alice" and create["token"] in server.alice


async def test_failed_authentication_is_slowed_down_per_address(server: Server) -> None:
    async with server.client("roost_0000000000000000_wrong", "10.2.0.1") as attacker:
        for _ in range(FAILURES_ALLOWED):
            assert (await attacker.get("/v1/instances")).status_code == 401
        limited = await attacker.get("/v1/instances")
        assert limited.status_code == 429 and limited.json()["code"] == "TOO_MANY_FAILURES"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
    async with server.client(server.alice, "10.2.0.1") as same_address:
        assert (await same_address.get("/v1/instances")).status_code == 429  # no guessing on
    async with server.client(server.alice, "10.2.0.2") as elsewhere:
        assert (await elsewhere.get("/v1/instances")).status_code == 200
    async with server.client(None, "10.2.0.3") as nobody:
        refused = await nobody.get("/v1/instances")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith(
            "Bearer"
        )
        assert (await nobody.get("/health")).status_code == 200


async def test_revoking_and_removing_take_effect_at_once(server: Server) -> None:
    info, token = await credentials.create_token(
        server.ctx, LOCAL_ACTOR, role="owner", user="alice"
    )
    async with server.client(token) as http:
        assert (await http.get("/v1/instances")).status_code == 200
        assert (await http.delete(f"/v1/tokens/{info.token_id}")).status_code == 204
        assert (await http.get("/v1/instances")).status_code == 401
    async with server.client(server.vera, "10.3.0.1") as vera:
        assert (await vera.get("/v1/instances/a1")).status_code == 200
        await users.remove_user(server.ctx, LOCAL_ACTOR, "vera")
        assert (await vera.get("/v1/instances/a1")).status_code == 401


async def test_an_instances_cache_token_reaches_its_namespace_and_nothing_else(
    server: Server,
) -> None:
    async with server.client(server.admin) as admin:
        await admin.post("/v1/instances", json={"instance_id": "b2"})
    token = cache_token(server.ctx.box.keys, "a1")
    async with server.client(token) as own:
        assert (
            await own.put("/v1/cache/k", content=b"v", headers={"x-instance-id": "a1"})
        ).status_code == 204
        assert (await own.get("/v1/cache/k", headers={"x-instance-id": "a1"})).content == b"v"
        other = await own.get("/v1/cache/k", headers={"x-instance-id": "b2"})
        assert (other.status_code, other.json()["code"]) == (403, "ACCESS_DENIED")
        created = await own.get("/v1/cache/k", headers={"x-instance-id": "brand-new"})
        assert created.status_code == 403  # it may not create instances either
        for path in ("/v1/instances", "/v1/instances/a1", "/v1/events", "/v1/tokens", "/v1/apps"):
            refused = await own.get(path)  # the control plane is not its to use
            assert (refused.status_code, refused.json()["code"]) == (403, "ACCESS_DENIED"), path
    forged = token[:-4] + "0000"
    async with server.client(forged, "10.4.0.1") as bad:
        assert (await bad.get("/v1/cache/k", headers={"x-instance-id": "a1"})).status_code == 401


async def test_an_owner_shares_and_a_scoped_token_stays_in_its_scope(server: Server) -> None:
    await users.add_user(server.ctx, LOCAL_ACTOR, "otto")
    _, otto = await credentials.create_token(server.ctx, LOCAL_ACTOR, role="operator", user="otto")
    async with server.client(otto, "10.5.0.1") as http:
        assert (await http.post("/v1/instances/a1/stop")).status_code == 403
    async with server.client(server.alice) as alice:
        shared = await alice.post(
            "/v1/instances/a1/grants", json={"user": "otto", "role": "operator"}
        )
        assert shared.status_code == 201 and shared.json()["grants"]["otto"] == "operator"
        assert (await alice.post("/v1/instances", json={"instance_id": "a2"})).status_code == 201
        scoped = await alice.post("/v1/tokens", json={"role": "owner", "instances": ["a2"]})
        assert scoped.status_code == 201
    async with server.client(otto, "10.5.0.2") as http:
        assert (await http.post("/v1/instances/a1/stop")).status_code == 200  # at once
        assert (await http.delete("/v1/instances/a1")).status_code == 403  # not an owner
    async with server.client(scoped.json()["token"], "10.5.0.3") as narrow:
        assert (await narrow.get("/v1/instances/a2")).status_code == 200
        assert (await narrow.get("/v1/instances/a1")).status_code == 403  # outside its scope
        listed = (await narrow.get("/v1/instances")).json()["instances"]
        assert [i["instance_id"] for i in listed] == ["a2"]
        made = await narrow.post("/v1/instances", json={"instance_id": "a3"})
        assert made.status_code == 403  # a token scoped to instances makes none


async def test_only_an_admin_makes_admin_tokens_and_apps(server: Server) -> None:
    async with server.client(server.alice) as alice:
        assert (await alice.post("/v1/tokens", json={"role": "admin"})).status_code == 403
        assert (
            await alice.post("/v1/apps", json={"name": "evil", "install": ["id"]})
        ).status_code == 403
        other = await alice.post("/v1/tokens", json={"role": "viewer", "user": "vera"})
        assert other.status_code == 403
    async with server.client(server.admin) as admin:
        made = await admin.post("/v1/tokens", json={"role": "viewer", "user": "vera"})
        assert made.status_code == 201
        listed = (await admin.get("/v1/tokens")).json()["tokens"]
        assert all("token" not in t for t in listed) and len(listed) >= 4
        assert not any(made.json()["token"] in str(t) for t in listed)


async def test_metrics_usage_and_top_show_only_what_one_may_see(server: Server) -> None:
    from roost.services.metrics_sampler import MetricsSampler

    async with server.client(server.admin) as admin:
        assert (await admin.post("/v1/instances", json={"instance_id": "adm"})).status_code == 201
    assert await MetricsSampler(server.ctx).sample() == 2

    async def seen(token: str | None, path: str) -> set[str]:
        async with server.client(token) as http:
            got = await http.get(path)
            assert got.status_code == 200, got.text
            if path == "/metrics":
                return {
                    line.split('instance_id="')[1].split('"')[0]
                    for line in got.text.splitlines()
                    if line.startswith("roost_instance_info{")
                }
            return {r["instance_id"] for r in got.json()["instances"]}

    for path in ("/metrics", "/v1/usage", "/v1/top"):
        assert await seen(server.admin, path) == {"a1", "adm"}, path
        assert await seen(server.alice, path) == {"a1"}, path
        assert await seen(server.vera, path) == {"a1"}, path
    async with server.client(server.alice) as alice:
        assert (await alice.get("/v1/instances/a1/metrics")).status_code == 200
        denied = await alice.get("/v1/instances/adm/metrics")
        assert (denied.status_code, denied.json()["code"]) == (403, "ACCESS_DENIED")
    async with server.client(None) as nobody:
        assert (await nobody.get("/metrics")).status_code == 401
