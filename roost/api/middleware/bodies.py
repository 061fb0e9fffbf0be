"""Control-plane request bodies: JSON only, and at most ``ROOST_MAX_BODY_BYTES``.

The body is read here, bounded, before the route runs (a route reads it whole anyway),
then handed on: a 100 MB body is refused after the first megabyte, or from its
``Content-Length`` before any of it is read (413 ``BODY_TOO_LARGE``); another media
type is 415 ``UNSUPPORTED_MEDIA_TYPE``, so a form a web page posts never reaches a
route, but the dashboard's own forms (``FORMS``), which take nothing else and which
the cross-origin protection guards like any change. (A body that trickles is the
server protocol's to cut off: ``protocol.py``.)
"""

from __future__ import annotations

import re

from roost.api.middleware.refusal import ASGIApp, Message, Receive, Scope, Send, header, refuse
from roost.domain.errors import RoostError, TooLarge

WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# a backup archive uploaded: streamed to disk by its route, under its own limit
RAW_UPLOADS = re.compile(r"/v1/instances/[^/]+/backups/[^/]+")
# the dashboard's forms, which browsers post as application/x-www-form-urlencoded
FORMS = re.compile(
    r"/(login|logout|actions|new|apps)|/instances/[^/]+/(config|reveal|restore|clone|delete)"
)
FORM = "application/x-www-form-urlencoded"


def is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_body(
    scope: Scope, receive: Receive, *, limit: int, too_large: type[RoostError] = TooLarge
) -> bytes | None:
    """The whole body, at most ``limit`` bytes (else ``too_large``, from its
    Content-Length before any of it is read); None when the client went away before it
    was all there."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise too_large(f"the body is larger than the limit of {limit} bytes", limit=limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(f"the body is larger than the limit of {limit} bytes", limit=limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class ControlPlaneBodies:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "PUT" and RAW_UPLOADS.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(scope, receive)
        except RoostError as exc:
            await refuse(send, exc.status, exc.code, exc.message, **exc.extra)
            return
        if body is None:
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect can come

        await self.app(scope, replay, send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        content_type = header(scope, b"content-type")
        if content_type is not None and FORMS.fullmatch(scope["path"]):
            if content_type.partition(";")[0].strip().lower() != FORM:
                raise UnsupportedMediaType(f"a form must be posted as {FORM}")
        elif content_type is not None and not is_json(content_type):
            raise UnsupportedMediaType(
                f"the request body must be application/json, not {content_type!r}"
            )
        body = await read_body(scope, receive, limit=self.limit)
        if body and content_type is None:
            raise UnsupportedMediaType("a request body needs Content-Type: application/json")
        return body


class UnsupportedMediaType(RoostError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
