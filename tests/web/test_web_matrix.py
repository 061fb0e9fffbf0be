"""Every dashboard route (and every other route the API document leaves out), asked by
everyone of the API's route matrix: a page sends the signed-out to sign in (303); a
form without credentials is 401; each page answers as its user's role says."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.routing import APIRoute

from roost.api.app import create_app
from roost.settings import Settings, sqlite_url
from tests.api.test_route_matrix import (
    SIGNED_OUT,
    Cell,
    Req,
    Row,
    World,
    expected,
    mismatches,
    world,
)

__all__ = ["world"]  # the fixture, used by name
FORM = {"content-type": "application/x-www-form-urlencoded"}


def form(path: str, fields: Callable[[Cell], dict[str, str]]) -> Callable[[Cell], Req]:
    return lambda c: Req("POST", path, content=urlencode(fields(c)).encode(), headers=dict(FORM))


def form_on(action: str, fields: Callable[[Cell], dict[str, str]]) -> Callable[[Cell], Req]:
    """A form of the instance page, posted for the cell's instance."""
    return lambda c: form(f"/instances/{c.instance_id}/{action}", fields)(c)


def get(path: str) -> Callable[[Cell], Req]:
    return lambda c: Req("GET", path.format(id=c.instance_id))


PAGES = {  # signed out: to the sign-in form
    "GET /": Row("user", 200, get("/")),
    "GET /instances/{instance_id}": Row("viewer", 200, get("/instances/{id}")),
    "GET /apps": Row("user", 200, get("/apps")),
    "GET /events": Row("user", 200, get("/events")),
    "GET /new": Row("user", 200, get("/new")),
    "GET /instances/{instance_id}/logs": Row("operator", 200, get("/instances/{id}/logs")),
}
OTHERS = {
    "GET /login": Row("open", 200, get("/login")),
    "POST /login": Row("open", 401, form("/login", lambda c: {"token": "roost_0_wrong"})),
    "POST /logout": Row("open", 303, form("/logout", lambda c: {})),
    "GET /static/{name}": Row("open", 200, get("/static/roost.css")),
    # each instance's outcome is on the page: the page itself is anyone's
    "POST /actions": Row(
        "user", 200, form("/actions", lambda c: {"action": "stop", "instance_id": c.instance_id})
    ),
    # made, then its page; refused, the form again with the refusal's status
    "POST /new": Row("create", 303, form("/new", lambda c: {"instance_id": f"form-{c.unique}"})),
    "POST /instances/{instance_id}/config": Row(
        "operator", 303, form_on("config", lambda c: {"config": '{"a": 1}'})
    ),
    "POST /instances/{instance_id}/reveal": Row(
        "owner", 200, form_on("reveal", lambda c: {"name": "api_key"})
    ),
    "POST /instances/{instance_id}/restore": Row(  # an operator may: there is no such backup
        "operator", 404, form_on("restore", lambda c: {"backup": "20261130T120000Z-manual-abcdef"})
    ),
    "POST /instances/{instance_id}/clone": Row(
        "clone", 303, form_on("clone", lambda c: {"new_id": f"copy-{c.unique}"})
    ),
    "POST /instances/{instance_id}/delete": Row(
        "owner", 303, form_on("delete", lambda c: {"confirm": c.instance_id})
    ),
    "POST /apps": Row(
        "admin", 303, form("/apps", lambda c: {"spec": json.dumps({"name": f"w-{c.unique}"})})
    ),
    "GET /docs": Row("user", 200, get("/docs")),
    "GET /docs/{name}": Row("user", 200, get("/docs/swagger-ui.css")),
    "GET /openapi.json": Row("user", 200, get("/openapi.json")),
}
MATRIX = {**PAGES, **OTHERS}


def every_route(routes: Sequence[Any]) -> Iterator[Any]:
    """The routes, those of included routers too (FastAPI keeps them inside)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from every_route(inner.routes)
        else:
            yield route


def expected_here(route: str, row: Row, principal: str) -> int:
    if route in PAGES and principal in SIGNED_OUT:
        return 303
    return expected(row, principal)


async def test_every_dashboard_route_answers_each_principal_as_its_role_says(
    world: World,
) -> None:
    wrong = await mismatches(world, MATRIX, expected_here)
    assert wrong == [], "\n".join(wrong)


def test_every_route_outside_the_api_document_has_a_row(tmp_path: Path) -> None:
    app = create_app(settings=Settings(home=tmp_path, database_url=sqlite_url(tmp_path / "r.db")))
    routes = {
        f"{method} {route.path}"
        for route in every_route(app.api.routes)
        if isinstance(route, APIRoute) and not route.include_in_schema
        for method in route.methods or ()
        if method != "HEAD"
    }
    routes |= {"GET /openapi.json"}  # FastAPI's own, outside the document it serves
    missing, stale = sorted(routes - set(MATRIX)), sorted(set(MATRIX) - routes)
    assert routes == set(MATRIX), f"without a row: {missing}; rows of no route: {stale}"
