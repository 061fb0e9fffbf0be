"""/v1/ports: every allocated port of every instance."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.services.ports import all_ports

router = APIRouter(prefix="/v1/ports", tags=["ports"], responses=ERROR_RESPONSES)


class PortOut(BaseModel):
    port: int
    name: str
    instance_id: str
    app: str
    host: str


class PortList(BaseModel):
    ports: list[PortOut]


@router.get("", response_model=PortList)
async def ports(ctx: Ctx, caller: Caller) -> PortList:
    """Ports by host and number, with the instance and app holding each."""
    return PortList(ports=[PortOut(**row) for row in await all_ports(ctx, caller)])
