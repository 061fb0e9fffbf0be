"""/v1/recover: rebuild lost registry entries from the instance directories."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.services.recovery import recover

router = APIRouter(prefix="/v1", tags=["recovery"], responses=ERROR_RESPONSES)


class Skipped(BaseModel):
    instance_id: str
    reason: str


class RecoveryOut(BaseModel):
    recovered: list[str]
    present: list[str]
    skipped: list[Skipped]


@router.post("/recover", response_model=RecoveryOut)
async def recover_registry(ctx: Ctx, caller: Caller) -> RecoveryOut:
    """Register every instance whose directory has an ``instance.json`` but whose
    registry entry is gone; ``present`` were fine, ``skipped`` could not be rebuilt."""
    outcome = await recover(ctx, caller)
    return RecoveryOut(
        recovered=outcome.recovered,
        present=outcome.present,
        skipped=[Skipped(instance_id=i, reason=r) for i, r in outcome.skipped],
    )
