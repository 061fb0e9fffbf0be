"""What only the Redis backend promises: Cluster-ready key layout."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.crc import key_slot

from roost.cache.backend import Limits
from roost.cache.redis import RedisStore, split_url
from tests.conftest import REDIS_URL, forget_prefix

ROOMY = Limits(max_bytes=10**9, max_keys=10**6)


def test_the_prefix_comes_out_of_the_url() -> None:
    assert split_url("redis://h:1/2?prefix=p&socket_timeout=3") == (
        "redis://h:1/2?socket_timeout=3",
        "p",
    )
    assert split_url("redis://h:1") == ("redis://h:1", "roost")


async def test_every_key_of_an_instance_is_in_one_cluster_slot(redis_prefix: str) -> None:
    store = RedisStore(f"{REDIS_URL}/0?prefix={redis_prefix}")
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        for instance in ("game-1", "game-2"):
            keys = {f"k{n}/{instance}:{{x}}": b"v" for n in range(50)}
            await store.put_many(instance, keys, None, ROOMY)
            await store.put(instance, "ttl", b"v", 60, ROOMY)
        for instance in ("game-1", "game-2"):
            found = [k async for k in client.scan_iter(match=f"{redis_prefix}:{{{instance}}}:*")]
            assert len(found) >= 54  # 51 values + keys, sizes, expiries, usage
            assert {key_slot(key) for key in found} == {key_slot(f"{{{instance}}}".encode())}
    finally:
        await store.close()
        await client.aclose()
        await forget_prefix(redis_prefix)


async def test_writes_recover_when_redis_forgets_its_scripts(redis_prefix: str) -> None:
    store = RedisStore(f"{REDIS_URL}/0?prefix={redis_prefix}")
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await store.put("s", "before", b"1", None, ROOMY)
        await client.script_flush()  # as after a Redis restart
        await store.put("s", "after", b"2", None, ROOMY)
        assert await store.get_many("s", ["before", "after"]) == {"before": b"1", "after": b"2"}
        assert (await store.usage("s")).keys == 2
    finally:
        await store.close()
        await client.aclose()
        await forget_prefix(redis_prefix)


async def test_many_concurrent_commands_share_the_pipeline(redis_prefix: str) -> None:
    store = RedisStore(f"{REDIS_URL}/0?prefix={redis_prefix}")
    try:
        await store.put_many("p", {f"k{n}": str(n).encode() for n in range(500)}, None, ROOMY)
        values = await asyncio.gather(*(store.get("p", f"k{n}") for n in range(500)))
        assert values == [str(n).encode() for n in range(500)]
    finally:
        await store.close()
        await forget_prefix(redis_prefix)
