"""The ASGI application: routers, error handlers, and the context's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from roost import __version__
from roost.api import compat, health
from roost.api.errors import install_error_handlers
from roost.api.v1 import events, instances
from roost.services.context import Context
from roost.settings import Settings


def create_app(*, settings: Settings | None = None, context: Context | None = None) -> FastAPI:
    """An app over ``context`` (kept open by the caller), or one it opens from ``settings``."""
    if (settings is None) == (context is None):
        raise ValueError("give exactly one of settings or context")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if context is not None:
            app.state.context = context
            yield
            return
        assert settings is not None
        opened = await Context.open(settings)
        app.state.context = opened
        try:
            yield
        finally:
            await opened.close()

    app = FastAPI(
        title="roost",
        version=__version__,
        description="Run many isolated instances of an application on one host.",
        lifespan=lifespan,
    )
    if context is not None:
        app.state.context = context
    install_error_handlers(app)
    for module in (health, instances, events, compat):
        app.include_router(module.router)
    return app
