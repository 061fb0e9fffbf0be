"""The dashboard's form for a new instance: app, id, name, version, tags, config and
explicit ports, read into the REST route's own schema and given to the same service;
what the server refuses is shown beside the field it is about."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from roost.api.deps import Caller, Ctx
from roost.api.schemas import InstanceCreate
from roost.auth import Actor
from roost.domain.errors import RoostError
from roost.services import create
from roost.services.context import Context
from roost.web.forms import field_of, form_of
from roost.web.pages import app_names
from roost.web.render import page

router = APIRouter(include_in_schema=False)
FIELDS = ("app", "instance_id", "name", "version", "tags", "config", "ports")
# which field a refusal is about, by its code
FIELD_OF_CODE = {
    "INVALID_INSTANCE_ID": "instance_id",
    "INSTANCE_EXISTS": "instance_id",
    "ORDINAL_TAKEN": "instance_id",
    "APP_NOT_FOUND": "app",
    "VERSION_NOT_FOUND": "version",
    "PORT_CONFLICT": "ports",
    "UNKNOWN_PORT": "ports",
    "PORT_OUT_OF_RANGE": "ports",
    "NO_FREE_PORT": "ports",
    "CONFIG_TOO_LARGE": "config",
    "INVALID_CONFIG_KEY": "config",
    "INVALID_SCHEDULE": "config",
    "VALIDATION_FAILED": "config",
}


class FormProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _parsed(values: dict[str, str]) -> dict[str, Any]:
    """The form's text as the REST route's body; FormProblem says which field is wrong."""
    body: dict[str, Any] = {key: values[key] for key in ("app", "instance_id", "name", "version")}
    body = {key: value.strip() for key, value in body.items() if value.strip()}
    body["tags"] = values["tags"].replace(",", " ").split()
    config_text = values["config"].strip()
    if config_text:
        try:
            body["config"] = json.loads(config_text)
        except ValueError as exc:
            raise FormProblem("config", f"not JSON: {exc}") from None
        if not isinstance(body["config"], dict):
            raise FormProblem("config", 'a JSON object, such as {"difficulty": "hard"}')
    ports: dict[str, int] = {}
    for line in values["ports"].replace(",", "\n").splitlines():
        if not line.strip():
            continue
        name, _, number = line.partition("=")
        if not number.strip().isdigit():
            raise FormProblem("ports", f"{line.strip()!r}: write name=port, such as http=8080")
        ports[name.strip()] = int(number)
    body["ports"] = ports
    return body


async def _form_page(
    request: Request,
    ctx: Context,
    caller: Actor,
    values: dict[str, str],
    problems: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    apps = await app_names(ctx, caller)
    return page(request, "new.html", status=status, values=values, problems=problems, apps=apps)


@router.get("/new", response_class=HTMLResponse)
async def new_page(request: Request, ctx: Ctx, caller: Caller) -> HTMLResponse:
    return await _form_page(request, ctx, caller, dict.fromkeys(FIELDS, ""), {})


@router.post("/new", response_model=None)
async def create_from_form(request: Request, ctx: Ctx, caller: Caller) -> Response:
    """Make the instance, then its page; or the form again with what is wrong."""
    posted = await form_of(request)
    values = {key: field_of(posted, key) for key in FIELDS}
    try:
        body = InstanceCreate.model_validate(_parsed(values))
        made = await create.create_instance(ctx, caller, body.to_request())
    except FormProblem as problem:
        return await _form_page(request, ctx, caller, values, {problem.field: problem.message}, 400)
    except ValidationError as invalid:
        problems: dict[str, str] = {}
        for error in invalid.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            problems.setdefault(field if field in FIELDS else "form", error["msg"])
        return await _form_page(request, ctx, caller, values, problems, 422)
    except RoostError as refused:
        field = FIELD_OF_CODE.get(refused.code, "form")
        said = {field: f"{refused.message} ({refused.code})"}
        return await _form_page(request, ctx, caller, values, said, refused.status)
    return RedirectResponse(f"/instances/{made.instance_id}", status_code=303)
