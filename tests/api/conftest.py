"""Fixtures for the data plane: a registry and a cache backend of each kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from roost.api.app import create_app
from roost.services.context import Context
from roost.settings import Settings, sqlite_url
from tests.conftest import REDIS_URL, _empty_all_tables, forget_prefix


@pytest.fixture(params=["sqlite+embedded", "postgresql+redis"])
def plane_settings(request: pytest.FixtureRequest, tmp_path: Path, redis_prefix: str) -> Settings:
    home = tmp_path / "home"
    if request.param == "sqlite+embedded":
        return Settings(home=home, database_url=sqlite_url(home / "roost.db"))
    database: str = request.getfixturevalue("postgres_url")
    return Settings(
        home=home, database_url=database, cache_backend=f"{REDIS_URL}/0?prefix={redis_prefix}"
    )


@pytest.fixture
async def plane_context(plane_settings: Settings, redis_prefix: str) -> AsyncIterator[Context]:
    ctx = await Context.open(plane_settings)
    await ctx.registry.write(_empty_all_tables)
    try:
        yield ctx
    finally:
        await ctx.close()
        await forget_prefix(redis_prefix)


@pytest.fixture
async def http(plane_context: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(context=plane_context))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8080") as client:
        yield client
