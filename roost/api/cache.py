"""The data plane: seed 001's ``/v1/cache`` as a raw ASGI app.

This is roost's hottest path, so it runs outside FastAPI (no routing table, no
dependency injection, no pydantic): it reads the ASGI scope directly, answers from the
in-memory instance directory and the store, and writes the response itself. The routes
still appear in ``/openapi.json`` (see ``cache_openapi.py``).

    PUT    /v1/cache/{key}          raw body; X-TTL-Seconds optional       -> 204
    GET    /v1/cache/{key}          -> the bytes, application/octet-stream
    HEAD   /v1/cache/{key}          -> 200 with Content-Length, or 404
    DELETE /v1/cache/{key}          -> 204, or 404
    POST   /v1/cache/batch/get      {"keys": [...]} -> {"entries", "missing"}
    POST   /v1/cache/batch/set      {"entries": {key: value}} -> {"written"}
    POST   /v1/cache/batch/delete   {"keys": [...]} -> {"deleted"}
    GET    /v1/cache?prefix=&cursor=&limit=   -> {"keys", "next_cursor"}
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from roost.api.errors import unforeseen
from roost.api.instance_context import instance_id_of, query_of
from roost.api.middleware.bodies import UnsupportedMediaType, is_json, read_body
from roost.api.middleware.refusal import header
from roost.auth import actor_of
from roost.cache.keys import check_key
from roost.domain.cursors import decode_cursor, encode_cursor
from roost.domain.errors import Conflict, InvalidInput, NotFound, RoostError, TooLarge
from roost.domain.states import SERVED_STATES
from roost.metrics import CacheTraffic
from roost.services.context import Context
from roost.services.directory import Tenant
from roost.services.tenants import READ, WRITE
from roost.services.tenants import tenant as tenant_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("roost.api.cache")
PREFIX = "/v1/cache"
MAX_BATCH = 1000
MAX_LIST = 1000
MAX_TTL_S = 10 * 365 * 24 * 3600
DEFAULT_INSTANCE = "default"  # only batch/get falls back to it (seed 001)

_JSON = [(b"content-type", b"application/json")]
_JSON_CLOSE = [*_JSON, (b"connection", b"close")]
_OCTETS = b"application/octet-stream"


class ClientGone(RoostError):
    """The client left before its body was all there: nothing is written, nobody to tell."""

    status = 400
    code = "CLIENT_GONE"


class PayloadTooLarge(RoostError):
    status = 413
    code = "VALUE_TOO_LARGE"


class MethodNotAllowed(RoostError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class KeyNotFound(NotFound):
    code = "KEY_NOT_FOUND"


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Send, status: int, data: Any, *, close: bool = False, extra: dict[str, str] | None = None
) -> None:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    headers = _JSON_CLOSE if close else _JSON
    if extra:
        headers = [*headers, *((k.lower().encode(), v.encode()) for k, v in extra.items())]
    await _respond(send, status, body, headers)


def _no_content() -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    return 204, b"", []


class DataPlane:
    """The ASGI app behind ``/v1/cache``; ``context`` is read when a request arrives."""

    def __init__(self, context: Callable[[], Context], traffic: CacheTraffic) -> None:
        self._context = context
        self._counts = traffic.counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            operation = await self._dispatch(scope, receive, send)
            self._counts[operation, "ok"] += 1
        except RoostError as exc:
            self._counts[_operation(scope), exc.code] += 1
            # a body refused unread: close the connection rather than read it to its end
            await _json(send, exc.status, exc.body(), close=exc.status == 413, extra=exc.headers)
        except Exception as error:
            status, body = unforeseen(error, scope)
            self._counts[_operation(scope), body["code"]] += 1
            with contextlib.suppress(Exception):  # begun already: it stays cut short
                await _json(send, status, body)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> str:
        """Answer the request; the name of the operation it was."""
        ctx = self._context()
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        rest = raw_path[len(PREFIX) :]
        if rest in (b"", b"/"):
            if method != "GET":
                raise MethodNotAllowed(f"{method} is not allowed on {PREFIX}")
            tenant = await self._tenant(ctx, scope, READ)
            await self._list(ctx, scope, tenant, send)
            return "list"
        try:
            key = unquote_to_bytes(rest[1:]).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("cache key is not valid UTF-8", code="INVALID_KEY") from None
        if method == "POST" and key in ("batch/get", "batch/set", "batch/delete"):
            await self._batch(ctx, scope, receive, send, key.removeprefix("batch/"))
            return key.replace("/", "_")
        check_key(key)
        if method in ("GET", "HEAD"):
            tenant = await self._tenant(ctx, scope, READ)
            value = await ctx.cache.get(tenant.instance_id, key)
            if value is None:
                if method == "HEAD":
                    await _respond(send, 404, b"", [])
                    return "head"
                raise KeyNotFound("key not found", key=key)
            headers = [(b"content-type", _OCTETS)]
            if method == "HEAD":
                headers.append((b"content-length", str(len(value)).encode()))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return "head"
            await _respond(send, 200, value, headers)
            return "get"
        if method == "PUT":
            value = await self._body(
                scope, receive, ctx.settings.cache_max_value_bytes, PayloadTooLarge
            )
            ttl = _ttl(scope)
            tenant = await self._tenant(ctx, scope, WRITE)
            await ctx.cache.put(tenant.instance_id, key, value, ttl, tenant.limits)
            await _respond(send, *_no_content())
            return "put"
        if method == "DELETE":
            tenant = await self._tenant(ctx, scope, WRITE)
            if not await ctx.cache.delete(tenant.instance_id, key):
                raise KeyNotFound("key not found", key=key)
            await _respond(send, *_no_content())
            return "delete"
        raise MethodNotAllowed(f"{method} is not allowed on {PREFIX}/{{key}}")

    # -- instance context ----------------------------------------------------------------

    async def _tenant(
        self, ctx: Context, scope: Scope, access: str, *, required: bool = True
    ) -> Tenant:
        """The instance the request names, served only to a caller the policy lets
        ``access`` it, and only while it is in a state the data plane serves."""
        instance_id = instance_id_of(scope)
        if instance_id is None:
            if required:
                raise InvalidInput("instance ID is required", code="MISSING_INSTANCE_ID")
            instance_id = DEFAULT_INSTANCE
        tenant = await tenant_of(ctx, actor_of(scope), instance_id, access)
        if tenant.state not in SERVED_STATES:
            raise Conflict(
                f"instance is {tenant.state.value}",
                code="INSTANCE_INACTIVE",
                instance_id=instance_id,
                status=tenant.state.value,
            )
        if access == WRITE and instance_id in ctx.directory.restoring:
            raise Conflict(
                "a backup is being restored into this instance: writes wait until it is done",
                code="RESTORE_IN_PROGRESS",
                instance_id=instance_id,
            )
        ctx.directory.touch(tenant)
        return tenant

    # -- bodies --------------------------------------------------------------------------

    async def _body(
        self, scope: Scope, receive: Receive, limit: int, too_large: type[RoostError]
    ) -> bytes:
        """The whole body, at most ``limit`` bytes; a client gone before the end of its
        body writes nothing (never a value cut short)."""
        body = await read_body(scope, receive, limit=limit, too_large=too_large)
        if body is None:
            raise ClientGone("the client went away before its body arrived")
        return body

    async def _json_body(self, ctx: Context, scope: Scope, receive: Receive) -> dict[str, Any]:
        content_type = header(scope, b"content-type")
        if content_type is None or not is_json(content_type):
            raise UnsupportedMediaType(
                f"a batch body must be application/json, not {content_type or 'untyped'!r}"
            )
        raw = await self._body(scope, receive, ctx.settings.cache_max_batch_bytes, TooLarge)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: too deep
            raise InvalidInput("request body is not valid JSON", code="INVALID_BODY") from None
        if not isinstance(data, dict):
            raise InvalidInput("request body must be a JSON object", code="INVALID_BODY")
        return data

    # -- batches and listing -------------------------------------------------------------

    async def _batch(
        self, ctx: Context, scope: Scope, receive: Receive, send: Send, operation: str
    ) -> None:
        data = await self._json_body(ctx, scope, receive)
        encoding = query_of(scope).get("encoding")
        if encoding not in (None, "base64"):
            raise InvalidInput(
                f"unknown encoding {encoding!r}: use base64", code="INVALID_ENCODING"
            )
        if operation == "set":
            entries = _entries(
                data, encoded=encoding == "base64", max_value=ctx.settings.cache_max_value_bytes
            )
            ttl = _ttl(scope)
            tenant = await self._tenant(ctx, scope, WRITE)
            await ctx.cache.put_many(tenant.instance_id, entries, ttl, tenant.limits)
            await _json(send, 200, {"written": len(entries)})
            return
        keys = _keys(data)
        if operation == "delete":
            tenant = await self._tenant(ctx, scope, WRITE)
            await _json(
                send, 200, {"deleted": await ctx.cache.delete_many(tenant.instance_id, keys)}
            )
            return
        tenant = await self._tenant(ctx, scope, READ, required=False)  # seed 001: default
        found = await ctx.cache.get_many(tenant.instance_id, keys)
        body: dict[str, Any] = {
            "entries": {},
            "missing": [k for k in dict.fromkeys(keys) if k not in found],
        }
        if encoding == "base64":
            body["entries"] = {k: base64.b64encode(v).decode() for k, v in found.items()}
            body["encoding"] = "base64"
        else:
            binary = []
            for k, v in found.items():
                try:
                    body["entries"][k] = v.decode("utf-8")
                except UnicodeDecodeError:
                    body["entries"][k] = base64.b64encode(v).decode()
                    binary.append(k)
            if binary:
                body["base64_keys"] = binary
        await _json(send, 200, body)

    async def _list(self, ctx: Context, scope: Scope, tenant: Tenant, send: Send) -> None:
        query = query_of(scope)
        prefix = query.get("prefix", "")
        limit_text = query.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIST:
            raise InvalidInput(
                f"limit must be a whole number from 1 to {MAX_LIST}", code="INVALID_LIMIT"
            )
        limit = int(limit_text)
        after = decode_cursor(query["cursor"]) if query.get("cursor") else None
        keys = await ctx.cache.list_keys(tenant.instance_id, prefix, after, limit + 1)
        more = len(keys) > limit
        keys = keys[:limit]
        cursor = encode_cursor(keys[-1]) if more else None
        await _json(
            send, 200, {"instance_id": tenant.instance_id, "keys": keys, "next_cursor": cursor}
        )


def _operation(scope: Scope) -> str:
    """The operation a failed request asked for, for the metrics."""
    path: str = scope["path"]
    if scope["method"] == "POST" and path.startswith(PREFIX + "/batch/"):
        return "batch_" + path.rsplit("/", 1)[-1]
    if path.rstrip("/") == PREFIX:
        return "list"
    return str(scope["method"]).lower()


def _ttl(scope: Scope) -> float | None:
    for name, value in scope["headers"]:
        if name == b"x-ttl-seconds":
            try:
                ttl = float(value)
            except ValueError:
                ttl = math.nan
            if not 0 < ttl <= MAX_TTL_S:
                raise InvalidInput(
                    f"X-TTL-Seconds must be a number of seconds from 0 to {MAX_TTL_S}",
                    code="INVALID_TTL",
                )
            return ttl
    return None


def _keys(data: dict[str, Any]) -> list[str]:
    keys = data.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidInput('body must be {"keys": [strings]}', code="INVALID_BODY")
    if len(keys) > MAX_BATCH:
        raise InvalidInput(f"a batch takes at most {MAX_BATCH} keys", code="BATCH_TOO_LARGE")
    for key in keys:
        check_key(key)
    return keys


def _entries(data: dict[str, Any], *, encoded: bool, max_value: int) -> dict[str, bytes]:
    entries = data.get("entries")
    if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
        raise InvalidInput('body must be {"entries": {key: string}}', code="INVALID_BODY")
    if len(entries) > MAX_BATCH:
        raise InvalidInput(f"a batch takes at most {MAX_BATCH} keys", code="BATCH_TOO_LARGE")
    values = {}
    for key, value in entries.items():
        check_key(key)
        if encoded:
            try:
                values[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput(f"value of {key!r} is not base64", code="INVALID_BODY") from None
        else:
            try:
                values[key] = value.encode("utf-8")
            except UnicodeEncodeError:
                message = f"value of {key!r} is not valid UTF-8 (send it with ?encoding=base64)"
                raise InvalidInput(message, code="INVALID_BODY") from None
        if len(values[key]) > max_value:
            raise PayloadTooLarge(
                f"value of {key!r} is larger than the limit of {max_value} bytes", limit=max_value
            )
    return values
