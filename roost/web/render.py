"""The dashboard's templates: Jinja's sandbox with autoescaping, loaded from the
package, and the filters the pages share."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from starlette.requests import Request
from starlette.responses import HTMLResponse

from roost import __version__
from roost.auth import ACTOR_KEY


def short_size(value: float | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}T"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``12s``, ``5m``, ``3h``, ``2d`` ago, or ``never``."""
    if value is None:
        return "never"
    seconds = max(0.0, ((now or datetime.now(UTC)) - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


ENVIRONMENT = ImmutableSandboxedEnvironment(
    loader=jinja2.PackageLoader("roost.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # shipped in the package: never changed under a running server
)
ENVIRONMENT.filters.update(short_size=short_size, ago=ago, percent=percent)
ENVIRONMENT.globals.update(version=__version__)


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page for the caller: the template with who asks and where they are."""
    actor = request.scope.get(ACTOR_KEY)  # none on the sign-in page
    html = ENVIRONMENT.get_template(template).render(actor=actor, path=request.url.path, **values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


# the pages load nothing from elsewhere and are framed by no one
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def error_page(request: Request, status: int, code: str, message: str) -> HTMLResponse:
    """An error as a page: what went wrong, in words and by its code."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return page(request, "error.html", status=status, title=title, message=message, code=code)
