"""/v1/users: who may hold tokens (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from roost.api.deps import Caller, Ctx
from roost.api.errors import ERROR_RESPONSES
from roost.api.schemas import Name, Strict
from roost.domain.clock import rfc3339
from roost.services import users as use

router = APIRouter(prefix="/v1/users", tags=["users and tokens"], responses=ERROR_RESPONSES)
UserName = Annotated[str, Path(max_length=63)]


class UserCreate(Strict):
    name: Name
    admin: bool = False


class UserOut(BaseModel):
    name: str
    admin: bool
    created_at: str

    @classmethod
    def of(cls, user: use.User) -> UserOut:
        return cls(name=user.name, admin=user.admin, created_at=rfc3339(user.created_at) or "")


class UserList(BaseModel):
    users: list[UserOut]


@router.post("", status_code=201, response_model=UserOut)
async def add_user(body: UserCreate, ctx: Ctx, caller: Caller) -> UserOut:
    return UserOut.of(await use.add_user(ctx, caller, body.name, admin=body.admin))


@router.get("", response_model=UserList)
async def list_users(ctx: Ctx, caller: Caller) -> UserList:
    return UserList(users=[UserOut.of(u) for u in await use.list_users(ctx, caller)])


@router.delete("/{name}", status_code=204, response_class=Response)
async def remove_user(name: UserName, ctx: Ctx, caller: Caller) -> Response:
    """The user, its tokens and its grants; what it owns stays."""
    await use.remove_user(ctx, caller, name)
    return Response(status_code=204)
