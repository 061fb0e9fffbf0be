"""The contract every data-plane backend keeps (embedded, Redis).

A namespace is an instance id. Keys are ``str`` (validated by ``keys.check_key``),
values are ``bytes``. Namespaces are structural: nothing a key contains can make it reach
another namespace. Writes that would pass a namespace's limits raise
``StorageQuotaExceeded`` and write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from roost.domain.errors import RoostError


class StorageQuotaExceeded(RoostError):
    status = 507
    code = "STORAGE_QUOTA_EXCEEDED"


class ValueCorrupt(RoostError):
    """A value read back from disk is not what was written: it is never returned."""

    status = 500
    code = "VALUE_CORRUPT"


@dataclass(frozen=True)
class DamageReport:
    """Damage a backend found in what it stores, and what it lost to it.

    ``keys`` are the (namespace, key) pairs known to be lost; ``unknown`` counts records
    lost whose names could not be read. ``kept`` is where the damaged original was set
    aside, if it was."""

    found: Literal["open", "read", "compaction"]
    records: int
    bytes: int
    keys: tuple[tuple[str, str], ...] = ()
    unknown: int = 0
    ranges: tuple[tuple[int, int], ...] = field(default=())
    kept: str | None = None


class CacheListener(Protocol):
    async def cache_damaged(self, report: DamageReport) -> None: ...


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_keys: int


@dataclass(frozen=True)
class Usage:
    bytes: int
    keys: int


def over_quota(
    namespace: str, what: Literal["bytes", "keys"], would: int, used: int, limits: Limits
) -> StorageQuotaExceeded:
    """The error for a write that would take ``namespace`` from ``used`` to ``would``
    bytes or keys, past its limit."""
    limit = limits.max_bytes if what == "bytes" else limits.max_keys
    message = f"instance {namespace!r} would hold {would} {what}, over its limit of {limit}"
    if what == "bytes":
        return StorageQuotaExceeded(message, limit_bytes=limit, used_bytes=used)
    return StorageQuotaExceeded(message, limit_keys=limit, used_keys=used)


@dataclass(frozen=True)
class Item:
    """A key as a snapshot holds it: its value and when it expires (epoch ms, 0 never)."""

    key: str
    value: bytes
    expires_ms: int = 0


def entry_size(key: str, value: bytes) -> int:
    """What a key counts against ``max_bytes``: its UTF-8 bytes plus its value's."""
    return len(key.encode()) + len(value)


class CacheBackend(Protocol):
    """Backends subclass this for ``put`` and ``delete``, which are their batch forms."""

    async def get(self, namespace: str, key: str) -> bytes | None: ...

    async def get_many(self, namespace: str, keys: list[str]) -> dict[str, bytes]: ...

    async def put(
        self, namespace: str, key: str, value: bytes, ttl_s: float | None, limits: Limits
    ) -> None:
        await self.put_many(namespace, {key: value}, ttl_s, limits)

    async def put_many(
        self, namespace: str, entries: dict[str, bytes], ttl_s: float | None, limits: Limits
    ) -> None:
        """All or nothing: either every entry is written, or none is."""
        ...

    async def delete(self, namespace: str, key: str) -> bool:
        return await self.delete_many(namespace, [key]) == 1

    async def delete_many(self, namespace: str, keys: list[str]) -> int: ...

    async def list_keys(
        self, namespace: str, prefix: str, after: str | None, limit: int
    ) -> list[str]:
        """Keys starting with ``prefix``, in UTF-8 byte order, after ``after``."""
        ...

    async def usage(self, namespace: str) -> Usage: ...

    async def expire(self) -> int:
        """Reclaim the keys whose time to live has passed; how many. Run on a timer. A
        backend whose server expires keys itself (Redis) has nothing to do here: 0."""
        return 0

    async def drop(self, namespace: str) -> None:
        """Forget the namespace and everything in it."""
        ...

    async def snapshot(self, namespace: str) -> list[Item]:
        """Every live key of the namespace with its value and expiry, as of one moment
        (no write lands half-way through), in key order."""
        ...

    async def replace(self, namespace: str, items: list[Item], limits: Limits, now_ms: int) -> None:
        """Make the namespace hold exactly ``items`` (those not expired at ``now_ms``).
        Over ``limits``, nothing is changed."""
        live = [item for item in items if not item.expires_ms or item.expires_ms > now_ms]
        total = sum(entry_size(item.key, item.value) for item in live)
        if total > limits.max_bytes:
            raise over_quota(namespace, "bytes", total, 0, limits)
        if len(live) > limits.max_keys:
            raise over_quota(namespace, "keys", len(live), 0, limits)
        await self.drop(namespace)
        lasting = [item for item in live if not item.expires_ms]
        for start in range(0, len(lasting), 500):
            batch = {item.key: item.value for item in lasting[start : start + 500]}
            await self.put_many(namespace, batch, None, limits)
        for item in live:
            if item.expires_ms:
                ttl_s = (item.expires_ms - now_ms) / 1000
                await self.put_many(namespace, {item.key: item.value}, ttl_s, limits)

    async def listen(self, listener: CacheListener) -> None:
        """Tell ``listener`` of damage found so far and from now on. A backend that cannot
        find damage in what it stores (Redis keeps its own checks) tells nothing."""
        return None

    async def close(self) -> None: ...
