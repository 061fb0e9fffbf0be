"""The dashboard's static files, shipped in the package and served from memory: a
stylesheet, a script, and Swagger UI's assets for ``/docs`` (no CDN)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

router = APIRouter(include_in_schema=False)
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@cache
def _file(name: str) -> tuple[bytes, str] | None:
    """A static file's content and ETag; None if the package holds no such file."""
    if "/" in name or name.startswith(".") or not any(name.endswith(s) for s in TYPES):
        return None
    found = resources.files("roost.web").joinpath("static", name)
    if not found.is_file():
        return None
    data = found.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


@router.get("/static/{name}")
async def static_file(request: Request, name: str = Path(max_length=100)) -> Response:
    found = _file(name)
    if found is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    data, etag = found
    headers = {"etag": etag, "cache-control": "no-cache", "x-content-type-options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    suffix = name[name.rindex(".") :]
    return Response(data, media_type=TYPES[suffix], headers=headers)
