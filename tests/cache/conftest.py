"""A store of each backend: embedded in a temporary folder, Redis under a fresh prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from roost.cache.backend import CacheBackend
from roost.cache.embedded import EmbeddedStore
from roost.cache.redis import RedisStore

REDIS_URL = os.environ.get("ROOST_TEST_REDIS_URL", "redis://127.0.0.1:6379")


async def forget_prefix(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def redis_prefix() -> str:
    return f"roost-test-{uuid.uuid4().hex[:12]}"


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
