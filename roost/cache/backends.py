"""Choosing the data plane's backend from the ``ROOST_CACHE_BACKEND`` setting."""

from __future__ import annotations

from pathlib import Path

from roost.cache.backend import CacheBackend
from roost.cache.embedded import EmbeddedStore
from roost.cache.redis import RedisStore
from roost.domain.errors import InvalidInput


def open_cache(backend: str, folder: Path, *, memory_budget: int) -> CacheBackend:
    """``embedded`` (an append-only log in ``folder``) or a ``redis://`` URL."""
    if backend == "embedded":
        return EmbeddedStore(folder, memory_budget=memory_budget)
    if backend.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(backend)
    raise InvalidInput(
        f"unknown cache backend {backend!r}: use 'embedded' or a redis:// URL",
        code="INVALID_CACHE_BACKEND",
    )
