"""Every route, asked by everyone: no token, a bad, an expired and a revoked one, a viewer,
an operator, the owner of another instance, the owner, and an admin, on a server that
checks tokens. Each cell's status is asserted; a route without a row fails the test.

Each cell acts on an instance of its own, owned by alice, shared with vera (viewer) and
otto (operator); bob owns another one. What a route needs is its row's ``needs``:
a role on that instance, ``user`` (anyone signed in), ``create`` (a token that may own
what it makes), ``clone`` (both), ``self`` (alice's own token), ``admin`` or ``open``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, update

from roost.api.app import RoostApp, create_app
from roost.auth import LOCAL_ACTOR
from roost.domain.access import Actor, Role
from roost.domain.clock import utcnow
from roost.registry.tables import tokens
from roost.services import credentials, grants, products, secrets, users
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.settings import Settings, sqlite_url
from tests.conftest import opened_context

ALICE = Actor("alice", user="alice", role=Role.OWNER)
BOB = Actor("bob", user="bob", role=Role.OWNER)
PRODUCT = "Matrix.Product"  # an id as LCC gives them
PRINCIPALS = (
    "none", "bad", "expired", "revoked", "viewer", "operator", "other_owner", "owner", "admin"
)  # fmt: skip
SIGNED_OUT = {"none", "bad", "expired", "revoked"}
ROLE_ON_INSTANCE = {"viewer": Role.VIEWER, "operator": Role.OPERATOR, "owner": Role.OWNER}
METHODS = {"get", "put", "post", "delete", "patch", "head"}


@dataclass
class Cell:
    instance_id: str
    token_id: str
    unique: str
    registration: str  # an instance of seed 000's product, for the facade's routes


@dataclass
class Req:
    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Row:
    needs: str
    ok: int
    request: Callable[[Cell], Req]
    stream: bool = False  # the status is in the first line of an NDJSON answer


def on(method: str, suffix: str = "", **extra: Any) -> Callable[[Cell], Req]:
    return lambda c: Req(method, f"/v1/instances/{c.instance_id}{suffix}", **extra)


def cache(method: str, path: str = "/v1/cache/k", **extra: Any) -> Callable[[Cell], Req]:
    def build(c: Cell) -> Req:
        request = Req(method, path, **extra)
        request.headers["x-instance-id"] = c.instance_id
        return request

    return build


def many(action: str) -> Callable[[Cell], Req]:
    return lambda c: Req("POST", f"/v1/instances/{action}", json={"instance_ids": [c.instance_id]})


def document(c: Cell) -> Req:
    entry = {
        "instance_id": f"imp-{c.unique}",
        "name": "imported",
        "app": "default",
        "version": "1.0.0",
        "bare": True,
    }
    return Req("POST", "/v1/instances/import", json={"roost_export": 1, "instances": [entry]})


MATRIX: dict[str, Row] = {
    "GET /health": Row("open", 200, lambda c: Req("GET", "/health")),
    "GET /metrics": Row("user", 200, lambda c: Req("GET", "/metrics")),
    "GET /v1/usage": Row("user", 200, lambda c: Req("GET", "/v1/usage")),
    "GET /v1/backups/orphaned": Row("admin", 200, lambda c: Req("GET", "/v1/backups/orphaned")),
    "POST /v1/backups/orphaned/{name}/restore": Row(  # an admin may: there is no such backup
        "admin",
        404,
        lambda c: Req("POST", "/v1/backups/orphaned/20261130T120000Z-manual-abcdef/restore"),
    ),
    "POST /v1/webhooks": Row(
        "admin", 201, lambda c: Req("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/"})
    ),
    "GET /v1/webhooks": Row("admin", 200, lambda c: Req("GET", "/v1/webhooks")),
    # an admin may: the hook is missing
    "GET /v1/webhooks/{webhook_id}": Row("admin", 404, lambda c: Req("GET", "/v1/webhooks/none")),
    "DELETE /v1/webhooks/{webhook_id}": Row(
        "admin", 404, lambda c: Req("DELETE", "/v1/webhooks/none")
    ),
    "GET /v1/webhooks/{webhook_id}/deliveries": Row(
        "admin", 404, lambda c: Req("GET", "/v1/webhooks/none/deliveries")
    ),
    "POST /v1/webhooks/{webhook_id}/ping": Row(
        "admin", 404, lambda c: Req("POST", "/v1/webhooks/none/ping")
    ),
    "GET /v1/top": Row("user", 200, lambda c: Req("GET", "/v1/top")),
    "GET /v1/apps": Row("user", 200, lambda c: Req("GET", "/v1/apps")),
    "GET /v1/apps/{name}": Row("user", 200, lambda c: Req("GET", "/v1/apps/default")),
    "POST /v1/apps": Row(
        "admin", 201, lambda c: Req("POST", "/v1/apps", json={"name": f"app-{c.unique}"})
    ),
    "GET /v1/events": Row("user", 200, lambda c: Req("GET", "/v1/events")),
    "GET /v1/ports": Row("user", 200, lambda c: Req("GET", "/v1/ports")),
    "GET /v1/exports": Row("user", 200, lambda c: Req("GET", "/v1/exports")),
    "POST /v1/exports/{exporter}": Row(
        "owner",
        400,
        lambda c: Req(
            "POST", "/v1/exports/systemd", json={"instance_ids": [c.instance_id], "out": "/tmp/x"}
        ),
    ),
    "POST /v1/recover": Row("admin", 200, lambda c: Req("POST", "/v1/recover")),
    "POST /v1/secret-key/rotate": Row("admin", 200, lambda c: Req("POST", "/v1/secret-key/rotate")),
    "GET /v1/users": Row("admin", 200, lambda c: Req("GET", "/v1/users")),
    "POST /v1/users": Row(
        "admin", 201, lambda c: Req("POST", "/v1/users", json={"name": f"u-{c.unique}"})
    ),
    "DELETE /v1/users/{name}": Row(
        "admin", 204, lambda c: Req("DELETE", f"/v1/users/gone-{c.unique}")
    ),
    "GET /v1/tokens": Row("user", 200, lambda c: Req("GET", "/v1/tokens")),
    "POST /v1/tokens": Row(
        "user", 201, lambda c: Req("POST", "/v1/tokens", json={"role": "viewer"})
    ),
    "DELETE /v1/tokens/{token_id}": Row(
        "self", 204, lambda c: Req("DELETE", f"/v1/tokens/{c.token_id}")
    ),
    "GET /v1/instances": Row("user", 200, lambda c: Req("GET", "/v1/instances")),
    "POST /v1/instances": Row(
        "create",
        201,
        lambda c: Req("POST", "/v1/instances", json={"instance_id": f"new-{c.unique}"}),
    ),
    "POST /v1/instances/export": Row(
        "owner",
        200,
        lambda c: Req("POST", "/v1/instances/export", json={"instance_ids": [c.instance_id]}),
    ),
    "POST /v1/instances/import": Row("create", 201, document),
    **{
        f"POST /v1/instances/{a}": Row("operator", 200, many(a), stream=True)
        for a in ("start", "stop", "restart", "pause", "resume")
    },
    "GET /v1/instances/{instance_id}": Row("viewer", 200, on("GET")),
    "PATCH /v1/instances/{instance_id}": Row(
        "operator", 200, on("PATCH", json={"name": "renamed"})
    ),
    "DELETE /v1/instances/{instance_id}": Row("owner", 204, on("DELETE")),
    **{
        f"POST /v1/instances/{{instance_id}}/{a}": Row("operator", 200, on("POST", f"/{a}"))
        for a in ("start", "stop", "restart", "pause", "resume")
    },
    "POST /v1/instances/{instance_id}/clean": Row("owner", 409, on("POST", "/clean")),
    "POST /v1/instances/{instance_id}/clone": Row("clone", 201, on("POST", "/clone", json={})),
    "GET /v1/instances/{instance_id}/config": Row("viewer", 200, on("GET", "/config")),
    "PUT /v1/instances/{instance_id}/config": Row(
        "operator", 200, on("PUT", "/config", json={"a": 1})
    ),
    "PATCH /v1/instances/{instance_id}/config": Row(
        "operator", 200, on("PATCH", "/config", json={"a": 1})
    ),
    "GET /v1/instances/{instance_id}/export": Row("owner", 200, on("GET", "/export")),
    "GET /v1/instances/{instance_id}/grants": Row("owner", 200, on("GET", "/grants")),
    "POST /v1/instances/{instance_id}/grants": Row(
        "owner", 201, on("POST", "/grants", json={"user": "bob", "role": "viewer"})
    ),
    "DELETE /v1/instances/{instance_id}/grants/{user}": Row(
        "owner", 204, on("DELETE", "/grants/vera")
    ),
    "POST /v1/instances/{instance_id}/keys": Row("owner", 201, on("POST", "/keys")),
    "GET /v1/instances/{instance_id}/public-key": Row("viewer", 404, on("GET", "/public-key")),
    "GET /v1/instances/{instance_id}/logs": Row("operator", 200, on("GET", "/logs")),
    "GET /v1/instances/{instance_id}/ports": Row("viewer", 200, on("GET", "/ports")),
    "GET /v1/instances/{instance_id}/metrics": Row("viewer", 200, on("GET", "/metrics")),
    "POST /v1/instances/{instance_id}/backups": Row("operator", 202, on("POST", "/backups")),
    "GET /v1/instances/{instance_id}/backups": Row("viewer", 200, on("GET", "/backups")),
    # a name of the right form that no backup has: 404 to whoever may ask
    "GET /v1/instances/{instance_id}/backups/{name}": Row(
        "viewer", 404, on("GET", "/backups/20261130T120000Z-manual-abcdef")
    ),
    "POST /v1/instances/{instance_id}/backups/{name}/verify": Row(
        "operator", 404, on("POST", "/backups/20261130T120000Z-manual-abcdef/verify")
    ),
    "PUT /v1/instances/{instance_id}/backups/{name}": Row(  # not an archive: 400
        "owner", 400, on("PUT", "/backups/20261130T120000Z-manual-abcdef", content=b"x")
    ),
    "POST /v1/instances/{instance_id}/backups/{name}/restore": Row(
        "operator", 404, on("POST", "/backups/20261130T120000Z-manual-abcdef/restore")
    ),
    "DELETE /v1/instances/{instance_id}/backups/{name}": Row(
        "owner", 404, on("DELETE", "/backups/20261130T120000Z-manual-abcdef")
    ),
    "GET /v1/instances/{instance_id}/backups/{name}/download": Row(
        "owner", 404, on("GET", "/backups/20261130T120000Z-manual-abcdef/download")
    ),
    "GET /v1/instances/{instance_id}/secrets": Row("operator", 200, on("GET", "/secrets")),
    "GET /v1/instances/{instance_id}/secrets/{name}": Row(
        "owner", 200, on("GET", "/secrets/api_key")
    ),
    "PUT /v1/instances/{instance_id}/secrets/{name}": Row(
        "owner", 204, on("PUT", "/secrets/api_key", json={"value": "v2"})
    ),
    "DELETE /v1/instances/{instance_id}/secrets/{name}": Row(
        "owner", 204, on("DELETE", "/secrets/api_key")
    ),
    "GET /v1/instances/{instance_id}/services": Row("viewer", 200, on("GET", "/services")),
    "POST /v1/instances/{instance_id}/services/{service}/{verb}": Row(
        "operator", 404, on("POST", "/services/web/restart")
    ),
    "POST /v1/instances/{instance_id}/upgrade": Row("owner", 200, on("POST", "/upgrade", json={})),
    "POST /v1/instances/upgrade": Row("owner", 200, many("upgrade"), stream=True),
    "POST /v1/instances/{instance_id}/health-check": Row(
        "operator", 200, on("POST", "/health-check")
    ),
    # each instance the caller may not check is a result with its error, in a 200
    "POST /v1/health-checks": Row(
        "user",
        200,
        lambda c: Req("POST", "/v1/health-checks", json={"instance_ids": [c.instance_id]}),
    ),
    "GET /v1/instances/{instance_id}/usage": Row("viewer", 200, on("GET", "/usage")),
    "POST /v1/instances/{instance_id}/usage": Row(
        "operator", 200, on("POST", "/usage", json={"feature_id": "f"})
    ),
    "POST /v1/instances/{instance_id}/usage/reset": Row(
        "owner", 200, on("POST", "/usage/reset", json={})
    ),
    "PUT /v1/cache/{key}": Row("operator", 204, cache("PUT", content=b"v")),
    "GET /v1/cache/{key}": Row("viewer", 404, cache("GET")),
    "HEAD /v1/cache/{key}": Row("viewer", 404, cache("HEAD")),
    "DELETE /v1/cache/{key}": Row("operator", 404, cache("DELETE")),
    "GET /v1/cache": Row("viewer", 200, cache("GET", "/v1/cache")),
    "POST /v1/cache/batch/get": Row(
        "viewer", 200, cache("POST", "/v1/cache/batch/get", json={"keys": ["k"]})
    ),
    "POST /v1/cache/batch/set": Row(
        "operator", 200, cache("POST", "/v1/cache/batch/set", json={"entries": {"k": "v"}})
    ),
    "POST /v1/cache/batch/delete": Row(
        "operator", 200, cache("POST", "/v1/cache/batch/delete", json={"keys": ["k"]})
    ),
    "POST /api/instance/register": Row(
        "create",
        200,
        lambda c: Req("POST", "/api/instance/register", json={"product_id": PRODUCT}),
    ),
    "GET /api/instances": Row("user", 200, lambda c: Req("GET", "/api/instances")),
    "GET /api/instance/status": Row(
        "user", 200, lambda c: Req("GET", "/api/instance/status", params={"product_id": PRODUCT})
    ),
    "POST /api/instance/clear": Row(
        "owner",
        200,
        lambda c: Req(
            "POST",
            "/api/instance/clear",
            json={"product_id": PRODUCT, "instance_id": c.registration},
        ),
    ),
    "POST /api/instance/test": Row(
        "operator",
        200,
        lambda c: Req(
            "POST",
            "/api/instance/test",
            json={"product_id": PRODUCT, "feature_id": "f", "instance_id": c.registration},
        ),
    ),
}


def expected(row: Row, principal: str) -> int:
    if row.needs == "open":
        return row.ok
    if principal in SIGNED_OUT:
        return 401
    if principal == "admin":
        return row.ok
    allowed = {
        "user": True,
        "admin": False,
        "create": principal in ("owner", "other_owner"),  # owner-role tokens
        "clone": principal == "owner",
        "self": principal == "owner",  # alice revokes her own token
    }.get(row.needs)
    if allowed is None:  # a role on the instance
        mine = ROLE_ON_INSTANCE.get(principal)
        allowed = mine is not None and mine >= ROLE_ON_INSTANCE[row.needs]
    return row.ok if allowed else 403


@dataclass
class World:
    ctx: Context
    app: RoostApp
    tokens: dict[str, str | None]
    counter: itertools.count[int]

    async def cell(self) -> Cell:
        """A fresh instance of alice's, shared with vera and otto, with a secret; and a
        fresh token of alice's (for a revoke)."""
        unique = str(next(self.counter))
        instance = await create_instance(self.ctx, ALICE, CreateRequest(instance_id=f"m-{unique}"))
        registration = await products.register(self.ctx, ALICE, PRODUCT, None, None)
        for shared in (instance, registration):
            for user, role in (("vera", "viewer"), ("otto", "operator")):
                await grants.share(self.ctx, LOCAL_ACTOR, shared.instance_id, user, role)
        await secrets.set_secret(self.ctx, LOCAL_ACTOR, instance.instance_id, "api_key", "s3cr3t")
        info, _ = await credentials.create_token(self.ctx, LOCAL_ACTOR, role="viewer", user="alice")
        await users.add_user(self.ctx, LOCAL_ACTOR, f"gone-{unique}")
        return Cell(instance.instance_id, info.token_id, unique, registration.instance_id)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with opened_context(replace(settings, auth_required=True)) as ctx:
        admin = await users.bootstrap_admin(ctx, LOCAL_ACTOR, None)
        for name in ("alice", "bob", "vera", "otto"):
            await users.add_user(ctx, LOCAL_ACTOR, name)
        made = {}
        for principal, user, role in (
            ("viewer", "vera", "viewer"),
            ("operator", "otto", "operator"),
            ("other_owner", "bob", "owner"),
            ("owner", "alice", "owner"),
            ("expired", "alice", "owner"),
            ("revoked", "alice", "owner"),
        ):
            info, text = await credentials.create_token(ctx, LOCAL_ACTOR, role=role, user=user)
            made[principal] = (info.token_id, text)
        await create_instance(ctx, BOB, CreateRequest(instance_id="bobs"))
        await credentials.revoke_token(ctx, LOCAL_ACTOR, made["revoked"][0])

        def expire(conn: Connection) -> None:
            conn.execute(
                update(tokens)
                .where(tokens.c.token_id == made["expired"][0])
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )

        await ctx.registry.write(expire)
        texts: dict[str, str | None] = {p: text for p, (_, text) in made.items()}
        texts.update(none=None, bad="roost_0123456789abcdef_not-the-secret", admin=admin)
        yield World(ctx, create_app(context=ctx), texts, itertools.count())


async def ask(world: World, row: Row, cell: Cell, principal: str) -> int:
    request = row.request(cell)
    headers = dict(request.headers)
    token = world.tokens[principal]
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    # each cell from an address of its own: the failures of one never rate-limit another
    transport = httpx.ASGITransport(app=world.app, client=(f"10.0.{cell.unique}", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.request(
            request.method,
            request.path,
            json=request.json,
            content=request.content,
            headers=headers,
            params=request.params,
        )
    if row.stream and response.status_code == 200:
        line = json.loads(response.text.splitlines()[0])
        return int(line.get("status", 200))
    return response.status_code


async def mismatches(
    world: World, matrix: dict[str, Row], want: Callable[[str, Row, str], int]
) -> list[str]:
    """Each route of ``matrix`` asked by every principal: the answers ``want`` did not."""
    wrong = []
    for route, row in matrix.items():
        for principal in PRINCIPALS:
            cell = await world.cell()
            got = await ask(world, row, cell, principal)
            if got != want(route, row, principal):
                wrong.append(
                    f"{route} as {principal}: {got}, expected {want(route, row, principal)}"
                )
    return wrong


async def test_every_route_answers_each_principal_as_its_role_says(world: World) -> None:
    wrong = await mismatches(world, MATRIX, lambda route, row, principal: expected(row, principal))
    assert wrong == [], "\n".join(wrong)


def test_every_route_has_a_row(tmp_path: Path) -> None:
    app = create_app(settings=Settings(home=tmp_path, database_url=sqlite_url(tmp_path / "r.db")))
    routes = {
        f"{method.upper()} {path}"
        for path, operations in app.api.openapi()["paths"].items()
        for method in operations
        if method in METHODS
    }
    missing, stale = sorted(routes - set(MATRIX)), sorted(set(MATRIX) - routes)
    assert routes == set(MATRIX), f"without a row: {missing}; rows of no route: {stale}"
