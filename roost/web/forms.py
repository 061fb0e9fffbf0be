"""The dashboard's forms (acting): sign in and out, and actions on instances.

Forms post ``application/x-www-form-urlencoded`` (the only routes that take it); the
cross-origin protection refuses them from other sites like any change. Each action
calls the same services as its REST route, as the signed-in actor, so the same access
checks apply; the outcome page says what happened to each instance.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from roost.api.deps import Caller, Ctx
from roost.domain.errors import InvalidInput, RoostError
from roost.domain.states import Action
from roost.services import app_specs, backups, lifecycle
from roost.services.authentication import SESSION_COOKIE
from roost.web.render import page

router = APIRouter(include_in_schema=False)
MAX_SELECTED = 1000
ACTIONS = {"start", "stop", "restart", "pause", "resume", "backup"}


async def form_of(request: Request) -> dict[str, list[str]]:
    """The posted form's fields (the body was bounded by the body middleware)."""
    fields: dict[str, list[str]] = {}
    for key, value in parse_qsl((await request.body()).decode("utf-8", "replace")):
        fields.setdefault(key, []).append(value)
    return fields


def field_of(fields: dict[str, list[str]], name: str) -> str:
    """A posted field's first value ('' when it was not sent)."""
    return (fields.get(name) or [""])[0]


def _local_path(value: str | None) -> str:
    """Where to go back to: a path on this server, never another site (browsers drop
    tabs and newlines from a URL and read a backslash as a slash: ``/\t/evil``)."""
    if not value or any(ord(c) < 0x21 or c == "\\" for c in value):
        return "/"
    parts = urlsplit(value)
    if not value.startswith("/") or value.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return value


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return page(request, "login.html", next=_local_path(next), problem=None, signed_out=True)


@router.post("/login", response_model=None)
async def login(request: Request, ctx: Ctx) -> Response:
    """Check the token; on success a session cookie (HttpOnly, SameSite=Strict, Secure
    over TLS) and back to where the user was going."""
    fields = await form_of(request)
    token = field_of(fields, "token")
    going = _local_path((fields.get("next") or ["/"])[0])
    address = (request.client.host if request.client else "unknown") or "unknown"
    try:
        if not token.strip():
            raise InvalidInput("give a token", code="TOKEN_REQUIRED")
        _, cookie = await ctx.authenticator.sign_in(token, address)
    except RoostError as refused:
        return page(
            request,
            "login.html",
            status=refused.status,
            next=going,
            problem=refused.message,
            signed_out=True,
        )
    answer = RedirectResponse(going, status_code=303)
    if cookie:
        answer.set_cookie(
            SESSION_COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return answer


@router.post("/logout", response_model=None)
async def logout() -> Response:
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return answer


@router.post("/actions", response_class=HTMLResponse)
async def act(request: Request, ctx: Ctx, caller: Caller) -> HTMLResponse:
    """One action on the selected instances; each instance's outcome."""
    fields = await form_of(request)
    action = field_of(fields, "action")
    selected = list(dict.fromkeys(fields.get("instance_id") or []))
    if action not in ACTIONS:
        raise InvalidInput(f"no such action {action!r}", code="INVALID_ACTION")
    if not selected:
        raise InvalidInput("select at least one instance", code="NOTHING_SELECTED")
    if len(selected) > MAX_SELECTED:
        raise InvalidInput(f"at most {MAX_SELECTED} at once", code="TOO_MANY")
    outcomes: list[tuple[str, bool, str]] = []
    if action == "backup":
        for instance_id in selected:
            try:
                row, _ = await backups.take_backup(ctx, caller, instance_id)
                outcomes.append((instance_id, True, f"backup {row.name} started"))
            except RoostError as error:
                outcomes.append((instance_id, False, f"{error.message} ({error.code})"))
    else:
        async for instance_id, result in lifecycle.act_many(ctx, caller, selected, Action(action)):
            if isinstance(result, RoostError):
                outcomes.append((instance_id, False, f"{result.message} ({result.code})"))
            else:
                outcomes.append((instance_id, True, result.state.value))
    order = {instance_id: n for n, instance_id in enumerate(selected)}
    outcomes.sort(key=lambda outcome: order.get(outcome[0], 0))
    back = _local_path((fields.get("back") or ["/"])[0])
    failed = sum(1 for _, ok, _ in outcomes if not ok)
    return page(
        request,
        "outcome.html",
        status=200,
        action=action,
        outcomes=outcomes,
        failed=failed,
        back=back,
    )


@router.post("/apps", response_model=None)
async def register(request: Request, ctx: Ctx, caller: Caller) -> Response:
    """Register an app, or a new version of it, from a spec as JSON (admins)."""
    fields = await form_of(request)
    text = field_of(fields, "spec")
    try:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"the spec is not JSON: {exc}", code="INVALID_SPEC") from None
        spec = app_specs.spec_of_document(document, "dashboard")
        default = field_of(fields, "default") == "on"
        await app_specs.register_app(ctx, caller, spec, make_default=default)
    except RoostError as refused:
        found = await app_specs.list_apps(ctx, caller)
        return page(
            request,
            "apps.html",
            status=refused.status,
            apps=found,
            can_register=await ctx.policy.allows(caller, "app.register"),
            spec_text=text,
            problem=f"{refused.message} ({refused.code})",
        )
    return RedirectResponse(f"/apps#{spec.name}", status_code=303)
