"""The ASGI application: routers, error handlers, and the context's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware

from roost import __version__
from roost.api import compat, docs, health, prometheus
from roost.api.cache import PREFIX as CACHE_PREFIX
from roost.api.cache import DataPlane, Receive, Scope, Send
from roost.api.cache_openapi import CACHE_PATHS
from roost.api.errors import install_error_handlers
from roost.api.middleware.authentication import Authentication
from roost.api.middleware.bodies import ControlPlaneBodies
from roost.api.middleware.guard import RequestGuard
from roost.api.middleware.hosts import AllowedHosts
from roost.api.middleware.origins import Origins
from roost.api.middleware.refusal import ASGIApp
from roost.api.v1 import (
    apps,
    backups,
    config,
    events,
    exports,
    grants,
    instances,
    ports,
    recovery,
    secrets,
    services,
    tokens,
    transfer,
    users,
    webhooks,
)
from roost.api.v1 import health as health_checks
from roost.api.v1 import metrics as metrics_routes
from roost.composition import open_context
from roost.metrics import Metrics
from roost.services.context import Context
from roost.settings import Settings
from roost.web import create_form, forms, instance_forms, pages, static_files

CACHE_PREFIX_BYTES = CACHE_PREFIX.encode()
# the request headers a trusted browser origin may send
CORS_HEADERS = ("authorization", "content-type", "x-instance-id", "x-ttl-seconds")


class RoostApp:
    """The ASGI entry point: every request passes the middleware (``middleware/``), then
    ``/v1/cache`` goes to the raw data plane and the rest to FastAPI."""

    def __init__(self, api: FastAPI, metrics: Metrics, settings: Settings) -> None:
        self.api = api
        self.metrics = metrics
        self.data_plane = DataPlane(lambda: api.state.context, metrics.cache)
        self._control = metrics.timed(ControlPlaneBodies(api, limit=settings.max_body_bytes))
        bound = urlsplit(settings.url).hostname or ""
        # with auth off, the Host is what stops a rebound name; with auth on, the token
        hosts = None if settings.auth_required else AllowedHosts([*settings.allowed_hosts, bound])
        guarded: ASGIApp = RequestGuard(
            Authentication(self._route, lambda: api.state.context),
            hosts=hosts,
            origins=Origins(settings.trusted_origins, guard_reads=(CACHE_PREFIX_BYTES,)),
        )
        if settings.trusted_origins:  # CORS headers for those origins, and for no other
            guarded = CORSMiddleware(
                guarded,
                allow_origins=list(settings.trusted_origins),
                allow_methods=["*"],
                allow_headers=list(CORS_HEADERS),
            )
        self._guarded = guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._guarded(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        await self._control(scope, receive, send)


def create_app(*, settings: Settings | None = None, context: Context | None = None) -> RoostApp:
    """An app over ``context`` (kept open by the caller), or one it opens from ``settings``."""
    if (settings is None) == (context is None):
        raise ValueError("give exactly one of settings or context")
    chosen = context.settings if context is not None else settings
    assert chosen is not None

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
        docs_url=None,  # docs.py serves it with its assets, no CDN
        redoc_url=None,
    )
    if context is not None:
        app.state.context = context
    install_error_handlers(app)
    app.include_router(backups.orphans)
    for dashboard in (docs, pages, forms, create_form, instance_forms, static_files):
        app.include_router(dashboard.router)
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
        health_checks,
        backups,
        metrics_routes,
        prometheus,
        users,
        tokens,
        grants,
        webhooks,
        compat,
    ):
        app.include_router(module.router)
    metrics = app.state.metrics = Metrics()
    _describe_data_plane(app)
    return RoostApp(app, metrics, chosen)


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
