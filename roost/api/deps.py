"""What every route resolves first: the open context and the calling actor.

Both are ``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, which
costs more than these take.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from roost.auth import Actor, actor_of
from roost.services.context import Context


async def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


async def get_actor(request: Request) -> Actor:
    """The caller, as the authentication middleware found it."""
    return actor_of(request.scope)


Ctx = Annotated[Context, Depends(get_context)]
Caller = Annotated[Actor, Depends(get_actor)]
