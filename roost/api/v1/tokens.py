"""/v1/tokens: bearer tokens, shown once when made, listed without secrets, revoked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import IdText, Name, Strict
from roost.domain.clock import rfc3339
from roost.services import credentials as use

router = APIRouter(prefix="/v1/tokens", tags=["users and tokens"], responses=ERROR_RESPONSES)
TokenId = Annotated[str, Path(max_length=32)]


class TokenCreate(Strict):
    role: Annotated[str, Field(max_length=16, description="admin, owner, operator or viewer")]
    user: IdText | None = None
    instances: Annotated[list[IdText], Field(max_length=1000)] | None = None
    apps: Annotated[list[IdText], Field(max_length=1000)] | None = None
    expires_in: Annotated[int, Field(ge=1, description="seconds")] | None = None
    name: Name | None = None


class TokenOut(BaseModel):
    id: str
    user: str
    role: str
    name: str | None
    instances: list[str] | None
    apps: list[str] | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, info: use.TokenInfo) -> TokenOut:
        return cls(
            id=info.token_id,
            user=info.user,
            role=info.role,
            name=info.name,
            instances=None if info.instances is None else list(info.instances),
            apps=None if info.apps is None else list(info.apps),
            created_at=rfc3339(info.created_at) or "",
            expires_at=rfc3339(info.expires_at),
            revoked_at=rfc3339(info.revoked_at),
        )


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown here, and never again")


class TokenList(BaseModel):
    tokens: list[TokenOut]


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(body: TokenCreate, ctx: Ctx, caller: Caller) -> TokenCreated:
    """A token for a user (default: the caller), with a role and, if named, a scope."""
    info, token = await use.create_token(
        ctx,
        caller,
        role=body.role,
        user=body.user,
        instances=body.instances,
        apps=body.apps,
        expires_in=body.expires_in,
        name=body.name,
    )
    return TokenCreated(**TokenOut.of(info).model_dump(), token=token)


@router.get("", response_model=TokenList)
async def list_tokens(ctx: Ctx, caller: Caller) -> TokenList:
    """Every token (an admin) or the caller's own: never the tokens themselves."""
    return TokenList(tokens=[TokenOut.of(t) for t in await use.list_tokens(ctx, caller)])


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def revoke_token(token_id: TokenId, ctx: Ctx, caller: Caller) -> Response:
    await use.revoke_token(ctx, caller, token_id)
    return Response(status_code=204)
