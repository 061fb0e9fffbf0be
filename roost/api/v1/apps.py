"""/v1/apps: register an app from its spec (new versions too), list, show."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import IdText
from roost.domain.clock import rfc3339
from roost.services.app_specs import (
    AppDetail,
    describe_app,
    list_apps,
    register_app,
    spec_of_document,
)

router = APIRouter(prefix="/v1/apps", tags=["apps"], responses=ERROR_RESPONSES)


class VersionOut(BaseModel):
    version: str
    created_at: str


class AppOut(BaseModel):
    name: str
    version: str
    default: bool
    bare: bool
    services: list[str]
    versions: list[VersionOut]
    spec: dict[str, Any]

    @classmethod
    def of(cls, detail: AppDetail) -> AppOut:
        return cls(
            name=detail.app.name,
            version=detail.app.version,
            default=detail.default,
            bare=detail.app.bare,
            services=sorted(detail.app.spec.get("services") or {}),
            versions=[
                VersionOut(version=v, created_at=rfc3339(at) or "") for v, at in detail.versions
            ],
            spec=detail.app.spec,
        )


class AppList(BaseModel):
    apps: list[AppOut]


@router.post("", response_model=AppOut, status_code=201, responses={200: {"model": AppOut}})
async def post_app(
    ctx: Ctx,
    caller: Caller,
    body: Annotated[
        dict[str, Any], Body(description="The app spec as JSON, with 'name'; files inline")
    ],
    default: Annotated[bool, Query(description="make it the default app")] = False,
) -> JSONResponse:
    """Register an app, or a new version of it: 201 when new, 200 otherwise."""
    spec = spec_of_document(body, "request")
    registered = await register_app(ctx, caller, spec, make_default=default)
    detail = await describe_app(ctx, caller, spec.name)
    status = 201 if registered.created else 200
    return JSONResponse(AppOut.of(detail).model_dump(mode="json"), status_code=status)


@router.get("", response_model=AppList)
async def get_apps(ctx: Ctx, caller: Caller) -> AppList:
    return AppList(apps=[AppOut.of(detail) for detail in await list_apps(ctx, caller)])


@router.get("/{name}", response_model=AppOut)
async def get_app(name: IdText, ctx: Ctx, caller: Caller) -> AppOut:
    return AppOut.of(await describe_app(ctx, caller, name))
