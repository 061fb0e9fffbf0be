"""A store of each backend: embedded in a temporary folder, Redis under a fresh prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from roost.cache.backend import CacheBackend
from roost.cache.embedded import EmbeddedStore
from roost.cache.redis import RedisStore
from tests.conftest import REDIS_URL, forget_prefix


@pytest.fixture(params=["embedded", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, redis_prefix: str
) -> AsyncIterator[CacheBackend]:
    backend: CacheBackend
    if request.param == "embedded":
        backend = EmbeddedStore(tmp_path / "cache")
    else:
        redis_store = RedisStore(f"{REDIS_URL}/0?prefix={redis_prefix}")
        try:
            await redis_store.ping()
        except OSError as exc:
            pytest.fail(f"Redis at {REDIS_URL} is not usable: {exc}")
        backend = redis_store
    yield backend
    await backend.close()
    if request.param == "redis":
        await forget_prefix(redis_prefix)
