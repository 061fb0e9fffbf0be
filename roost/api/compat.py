"""Seed 000's multi-instance API, with the seed's exact request and response shapes.

Every success answers 200, as the seed's Go handlers do. Roost's own API never reads a
missing ``instance_id`` as "all"; only ``/api/instance/clear`` does, because the seed
documents it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import FeatureId, IdText, Units, UsageOut, Version
from roost.domain.clock import rfc3339
from roost.domain.model import Instance
from roost.domain.names import PRODUCT_ID
from roost.services import products

router = APIRouter(prefix="/api", tags=["seed-000 compatibility"], responses=ERROR_RESPONSES)


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


ProductText = Annotated[
    str, Field(max_length=200, json_schema_extra={"pattern": PRODUCT_ID.pattern})
]  # checked whole by the use case: INVALID_PRODUCT_ID


class RegisterRequest(Lenient):
    product_id: ProductText
    version: Version | None = None
    lcc_url: Annotated[str, Field(max_length=2048, pattern=r"^[^\x00]*$")] | None = None


class RegisterResponse(BaseModel):
    success: bool
    instance_id: str
    product_id: str
    version: str
    registered_at: str
    message: str
    key: str = Field(description="the seed's storage key {product_id}:{version}:{instance_id}")


class InstanceItem(BaseModel):
    instance_id: str
    product_id: str
    version: str
    registered_at: str

    @classmethod
    def of(cls, product_id: str, instance: Instance) -> InstanceItem:
        return cls(
            instance_id=instance.instance_id,
            product_id=product_id,
            version=instance.version,
            registered_at=rfc3339(instance.created_at) or "",
        )


class InstancesResponse(BaseModel):
    instances: list[InstanceItem]


class ClearRequest(Lenient):
    product_id: ProductText
    instance_id: IdText | None = None


class ClearResponse(BaseModel):
    success: bool
    message: str
    cleared: list[str]


class TestRequest(Lenient):
    product_id: ProductText
    feature_id: FeatureId
    instance_id: IdText | None = None
    units: Units = 1


class TestResponse(UsageOut):
    success: bool
    product_id: str
    version: str


class StatusResponse(BaseModel):
    product_id: str
    registered: bool
    instances: list[InstanceItem]


@router.post("/instance/register", response_model=RegisterResponse)
async def register(body: RegisterRequest, ctx: Ctx, caller: Caller) -> RegisterResponse:
    instance = await products.register(ctx, caller, body.product_id, body.version, body.lcc_url)
    return RegisterResponse(
        success=True,
        instance_id=instance.instance_id,
        product_id=body.product_id,
        version=instance.version,
        registered_at=rfc3339(instance.created_at) or "",
        message="Instance registered successfully",
        key=f"{body.product_id}:{instance.version}:{instance.instance_id}",
    )


@router.get("/instances", response_model=InstancesResponse)
async def list_all(ctx: Ctx, caller: Caller) -> InstancesResponse:
    """Every registration of every product, oldest first."""
    found = await products.all_instances(ctx, caller)
    return InstancesResponse(instances=[InstanceItem.of(product, i) for product, i in found])


@router.post("/instance/clear", response_model=ClearResponse)
async def clear(body: ClearRequest, ctx: Ctx, caller: Caller) -> ClearResponse:
    cleared = await products.clear(ctx, caller, body.product_id, body.instance_id)
    message = (
        "Instance cleared successfully"
        if body.instance_id
        else f"Cleared {len(cleared)} instance(s) of {body.product_id}"
    )
    return ClearResponse(success=True, message=message, cleared=cleared)


@router.post("/instance/test", response_model=TestResponse)
async def test(body: TestRequest, ctx: Ctx, caller: Caller) -> TestResponse:
    instance, used = await products.test_feature(
        ctx, caller, body.product_id, body.feature_id, body.instance_id, body.units
    )
    return TestResponse(
        success=True,
        product_id=body.product_id,
        version=instance.version,
        **UsageOut.of(used).model_dump(),
    )


@router.get("/instance/status", response_model=StatusResponse)
async def status(
    ctx: Ctx, caller: Caller, product_id: Annotated[ProductText, Query()]
) -> StatusResponse:
    found = await products.instances_of(ctx, caller, product_id)
    return StatusResponse(
        product_id=product_id,
        registered=bool(found),
        instances=[InstanceItem.of(product_id, i) for i in found],
    )
