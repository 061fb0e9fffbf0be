"""The Redis backend: one hash-tagged key family per instance, quota kept by Lua.

Layout for instance ``i`` under prefix ``p`` (``p`` defaults to ``roost``):

    p:{i}:v:<key>   the value (native TTL with PX)
    p:{i}:k         sorted set of live keys (score 0): ordered listing by ZRANGEBYLEX
    p:{i}:s         hash key -> size counted against max_bytes
    p:{i}:e         sorted set key -> expiry (ms) for keys with a TTL
    p:{i}:u         hash {bytes, keys}: the namespace's usage

Instance ids cannot contain ``{``, ``}`` or ``:``, so ``p:{i}:v:`` ends exactly where the
key begins and no crafted key can reach another instance's family. The ``{i}`` hash tag
puts every key of an instance in one Redis Cluster slot. Writes run as Lua scripts:
expired keys are purged from the accounting first, then the quota is checked and the
write applied, atomically.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from roost.cache.backend import CacheBackend, Item, Limits, Usage, over_quota

_PURGE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function purge(v, k, s, e, u, now)
  local due = redis.call('ZRANGEBYSCORE', e, '-inf', now)
  for _, key in ipairs(due) do
    if redis.call('EXISTS', v .. key) == 0 then
      local size = tonumber(redis.call('HGET', s, key) or '0')
      redis.call('ZREM', k, key)
      redis.call('HDEL', s, key)
      redis.call('HINCRBY', u, 'bytes', -size)
      redis.call('HINCRBY', u, 'keys', -1)
    end
    redis.call('ZREM', e, key)
  end
end
"""

# KEYS: k s e u   ARGV: value prefix, ttl ms (0 = none), max bytes, max keys, then
# key, value pairs. Returns 'OK', or {'bytes'|'keys', would-be total, current total}.
_PUT_MANY = (
    _PURGE
    + """
local k, s, e, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v, now, ttl = ARGV[1], now_ms(), tonumber(ARGV[2])
local max_bytes, max_keys = tonumber(ARGV[3]), tonumber(ARGV[4])
purge(v, k, s, e, u, now)
local bytes = tonumber(redis.call('HGET', u, 'bytes') or '0')
local keys = tonumber(redis.call('HGET', u, 'keys') or '0')
local add_bytes, add_keys = 0, 0
for i = 5, #ARGV, 2 do
  local key, value = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', s, key)
  add_bytes = add_bytes + #key + #value - tonumber(old or '0')
  if not old then add_keys = add_keys + 1 end
end
if bytes + add_bytes > max_bytes then return {'bytes', bytes + add_bytes, bytes} end
if keys + add_keys > max_keys then return {'keys', keys + add_keys, keys} end
for i = 5, #ARGV, 2 do
  local key, value = ARGV[i], ARGV[i + 1]
  if ttl > 0 then
    redis.call('SET', v .. key, value, 'PX', ttl)
    redis.call('ZADD', e, now + ttl, key)
  else
    redis.call('SET', v .. key, value)
    redis.call('ZREM', e, key)
  end
  redis.call('ZADD', k, 0, key)
  redis.call('HSET', s, key, #key + #value)
end
redis.call('HINCRBY', u, 'bytes', add_bytes)
redis.call('HINCRBY', u, 'keys', add_keys)
return 'OK'
"""
)

# KEYS: k s e u   ARGV: value prefix, then keys. Returns how many were deleted.
_DELETE_MANY = (
    _PURGE
    + """
local k, s, e, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v = ARGV[1]
purge(v, k, s, e, u, now_ms())
local deleted = 0
for i = 2, #ARGV do
  local key = ARGV[i]
  local size = redis.call('HGET', s, key)
  if size then
    redis.call('DEL', v .. key)
    redis.call('ZREM', k, key)
    redis.call('HDEL', s, key)
    redis.call('ZREM', e, key)
    redis.call('HINCRBY', u, 'bytes', -tonumber(size))
    redis.call('HINCRBY', u, 'keys', -1)
    deleted = deleted + 1
  end
end
return deleted
"""
)

# KEYS: k s e u   ARGV: value prefix, min, max, limit. Purges, then lists.
_LIST = (
    _PURGE
    + """
local k, s, e, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
purge(ARGV[1], k, s, e, u, now_ms())
return redis.call('ZRANGEBYLEX', k, ARGV[2], ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
"""
)

# KEYS: k s e u   ARGV: value prefix. Purges, then reports {bytes, keys}.
_USAGE = (
    _PURGE
    + """
local k, s, e, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
purge(ARGV[1], k, s, e, u, now_ms())
local bytes = tonumber(redis.call('HGET', u, 'bytes') or '0')
return {bytes, tonumber(redis.call('HGET', u, 'keys') or '0')}
"""
)

# KEYS: k s e u   ARGV: value prefix. Deletes the values in batches, then the bookkeeping.
_DROP = """
local k, s, e, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v = ARGV[1]
while true do
  local batch = redis.call('ZRANGE', k, 0, 499)
  if #batch == 0 then break end
  for i, key in ipairs(batch) do batch[i] = v .. key end
  redis.call('UNLINK', unpack(batch))
  redis.call('ZREMRANGEBYRANK', k, 0, 499)
end
redis.call('UNLINK', s, e, u)
return 'OK'
"""


# KEYS: k s e u   ARGV: value prefix. Purges, then {key, value, expiry ms (0: none), ...}
# in key order, in one step: a snapshot no write can land in the middle of.
_SNAPSHOT = (
    _PURGE
    + """
local k, s, e, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local v, now = ARGV[1], now_ms()
purge(v, k, s, e, u, now)
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYLEX', k, '-', '+')) do
  local value = redis.call('GET', v .. key)
  if value then
    local ttl = redis.call('PTTL', v .. key)
    out[#out + 1] = key
    out[#out + 1] = value
    out[#out + 1] = ttl > 0 and (now + ttl) or 0
  end
end
return out
"""
)

Arg = bytes | str | int


def split_url(url: str) -> tuple[str, str]:
    """``redis://host:port/db?prefix=p`` -> (the URL redis-py takes, the key prefix)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    prefix = next((value for name, value in query if name == "prefix"), "roost")
    rest = urlencode([(name, value) for name, value in query if name != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class AutoPipeline:
    """Send the commands of concurrent requests together, on one connection.

    A command waits in a queue; the first one of an event-loop turn schedules a flush,
    which sends everything queued as one pipeline and hands each caller its reply.
    Commands queued while a pipeline is in flight go out in the next one. Measured here,
    this is about twice what redis-py's connection pool serves (issue 3's notes).
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._queue: list[tuple[tuple[Arg, ...], asyncio.Future[Any]]] = []
        self._flushing = False

    async def execute(self, *command: Arg) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((command, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                pipe = self._client.pipeline(transaction=False)
                for command, _ in batch:
                    pipe.execute_command(*command)
                try:
                    replies = await pipe.execute(raise_on_error=False)
                except Exception as exc:  # the connection failed: every caller hears it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), reply in zip(batch, replies, strict=True):
                    if future.done():
                        continue
                    if isinstance(reply, Exception):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
        finally:
            self._flushing = False


class RedisStore(CacheBackend):
    def __init__(self, url: str) -> None:
        connection_url, self.prefix = split_url(url)
        self._redis = aioredis.Redis.from_url(connection_url, max_connections=16)
        self._pipeline = AutoPipeline(self._redis)
        self._scripts: dict[str, bytes] = {}

    def value_key(self, namespace: str, key: str) -> bytes:
        return self._value_prefix(namespace) + key.encode()

    def _value_prefix(self, namespace: str) -> bytes:
        return f"{self.prefix}:{{{namespace}}}:v:".encode()

    def _books(self, namespace: str) -> list[Arg]:
        base = f"{self.prefix}:{{{namespace}}}"
        return [f"{base}:k", f"{base}:s", f"{base}:e", f"{base}:u"]

    async def _run(self, source: str, keys: list[Arg], args: list[Arg]) -> Any:
        """EVALSHA through the pipeline, loading the script when Redis does not know it."""
        for attempt in (1, 2):
            sha = self._scripts.get(source)
            if sha is None:  # through the pipeline too: a burst of first writes loads it once each
                loaded = await self._pipeline.execute("SCRIPT", "LOAD", source)
                sha = self._scripts[source] = (
                    loaded if isinstance(loaded, bytes) else str(loaded).encode()
                )
            try:
                return await self._pipeline.execute("EVALSHA", sha, len(keys), *keys, *args)
            except NoScriptError:  # Redis restarted or flushed its scripts
                self._scripts.pop(source, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        await self._redis.ping()

    async def get(self, namespace: str, key: str) -> bytes | None:
        value = await self._pipeline.execute("GET", self.value_key(namespace, key))
        return value if isinstance(value, bytes) else None

    async def get_many(self, namespace: str, keys: list[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        values = await self._pipeline.execute("MGET", *(self.value_key(namespace, k) for k in keys))
        return {
            key: value for key, value in zip(keys, values, strict=True) if isinstance(value, bytes)
        }

    async def put_many(
        self, namespace: str, entries: dict[str, bytes], ttl_s: float | None, limits: Limits
    ) -> None:
        ttl_ms = 0 if ttl_s is None else max(1, int(ttl_s * 1000))
        args: list[Arg] = [self._value_prefix(namespace), ttl_ms, limits.max_bytes, limits.max_keys]
        for key, value in entries.items():
            args += [key.encode(), value]
        result = await self._run(_PUT_MANY, self._books(namespace), args)
        if result != b"OK":
            what, would, current = result[0].decode(), int(result[1]), int(result[2])
            raise over_quota(
                namespace, "bytes" if what == "bytes" else "keys", would, current, limits
            )

    async def delete_many(self, namespace: str, keys: list[str]) -> int:
        args: list[Arg] = [self._value_prefix(namespace)]
        args += [key.encode() for key in dict.fromkeys(keys)]
        return int(await self._run(_DELETE_MANY, self._books(namespace), args))

    async def list_keys(
        self, namespace: str, prefix: str, after: str | None, limit: int
    ) -> list[str]:
        encoded = prefix.encode()
        low = b"[" + encoded if after is None or after < prefix else b"(" + after.encode()
        high = b"[" + encoded + b"\xff" * 4 if prefix else b"+"
        args: list[Arg] = [self._value_prefix(namespace), low, high, limit]
        found = await self._run(_LIST, self._books(namespace), args)
        return [key.decode() for key in found]

    async def usage(self, namespace: str) -> Usage:
        found = await self._run(_USAGE, self._books(namespace), [self._value_prefix(namespace)])
        return Usage(int(found[0]), int(found[1]))

    async def snapshot(self, namespace: str) -> list[Item]:
        found = await self._run(_SNAPSHOT, self._books(namespace), [self._value_prefix(namespace)])
        return [
            Item(found[at].decode(), found[at + 1], int(found[at + 2]))
            for at in range(0, len(found), 3)
        ]

    async def drop(self, namespace: str) -> None:
        await self._run(_DROP, self._books(namespace), [self._value_prefix(namespace)])

    async def close(self) -> None:
        await self._redis.aclose()
