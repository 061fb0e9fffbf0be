"""``/docs``: Swagger UI over ``/openapi.json``, its assets served from the
``swagger-ui-bundle`` package (a host without internet still has them; FastAPI's own
page loads them from a CDN)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@router.get("/docs", response_class=HTMLResponse)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="roost API",
        swagger_js_url="/docs/swagger-ui-bundle.js",
        swagger_css_url="/docs/swagger-ui.css",
        swagger_favicon_url="/docs/favicon-32x32.png",
    )


@cache
def _asset(name: str) -> bytes:
    return (Path(swagger_ui_bundle.swagger_ui_path) / name).read_bytes()


@router.get("/docs/{name}")
async def docs_asset(name: str) -> Response:
    if name not in ASSETS:
        return Response(b"not found", status_code=404, media_type="text/plain")
    headers = {"cache-control": "public, max-age=86400"}
    return Response(_asset(name), media_type=ASSETS[name], headers=headers)
