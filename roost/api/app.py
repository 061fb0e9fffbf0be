"""The ASGI application: routers, error handlers, and the context's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.utils import get_openapi

from roost import __version__
from roost.api import compat, health
from roost.api.cache import PREFIX as CACHE_PREFIX
from roost.api.cache import DataPlane, Receive, Scope, Send
from roost.api.cache_openapi import CACHE_PATHS
from roost.api.errors import ERROR_RESPONSES, install_error_handlers
from roost.api.v1 import (
    apps,
    config,
    events,
    exports,
    instances,
    ports,
    recovery,
    secrets,
    services,
    transfer,
)
from roost.composition import open_context
from roost.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from roost.metrics import Metrics
from roost.services.context import Context
from roost.settings import Settings

CACHE_PREFIX_BYTES = CACHE_PREFIX.encode()


class RoostApp:
    """The ASGI entry point: ``/v1/cache`` goes to the raw data plane, the rest to FastAPI."""

    def __init__(self, api: FastAPI, metrics: Metrics) -> None:
        self.api = api
        self.metrics = metrics
        self.data_plane = DataPlane(lambda: api.state.context, metrics.cache)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # matched on the raw path, where the data plane cuts the key from: a path
            # that only decodes to /v1/cache (/v1/cach%65/...) is not the data plane
            raw: bytes = scope.get("raw_path") or scope["path"].encode()
            if raw.startswith(CACHE_PREFIX_BYTES) and raw[len(CACHE_PREFIX_BYTES) :][:1] in (
                b"",
                b"/",
            ):
                await self.data_plane(scope, receive, send)
                return
        await self.api(scope, receive, send)


def create_app(*, settings: Settings | None = None, context: Context | None = None) -> RoostApp:
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
        opened = await open_context(settings)
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
    for module in (
        health,
        apps,
        transfer,
        instances,
        config,
        ports,
        secrets,
        events,
        exports,
        recovery,
        services,
        compat,
    ):
        app.include_router(module.router)
    metrics = Metrics()

    @app.get("/metrics", response_class=Response, tags=["metrics"], responses=ERROR_RESPONSES)
    async def prometheus() -> Response:
        """Prometheus text format."""
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    _describe_data_plane(app)
    return RoostApp(app, metrics)


def _describe_data_plane(app: FastAPI) -> None:
    """Add the raw data plane's routes to the generated OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema["paths"].update(CACHE_PATHS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
