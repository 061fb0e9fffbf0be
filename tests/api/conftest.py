"""Fixtures for the data plane: a registry and a cache backend of each kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from roost.services.context import Context
from roost.settings import Settings, sqlite_url
from tests.conftest import REDIS_URL, api_client, forget_prefix, opened_context


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
    try:
        async with opened_context(plane_settings) as ctx:
            yield ctx
    finally:
        await forget_prefix(redis_prefix)


@pytest.fixture
async def http(plane_context: Context) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(plane_context) as client:
        yield client
