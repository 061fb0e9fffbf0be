"""One error format on every route: ``{"error": <sentence>, "code": <UPPER_SNAKE>, ...}``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from roost.api.middleware.authentication import is_page
from roost.api.middleware.refusal import ASGIApp, Message, Receive, Scope, Send
from roost.api.schemas import ErrorBody
from roost.domain.errors import RoostError, no_room, out_of_space
from roost.web.render import error_page

log = logging.getLogger("roost.api")

_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}

# Declared on every route so the OpenAPI document says what errors look like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 408, 409, 413, 415, 421, 422, 429, 500, 503, 507)
}


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _for_page(request: Request, status: int, body: dict[str, Any]) -> Response | None:
    """A dashboard page's error as a page (its forms and links are read by people)."""
    if not is_page(request.url.path):
        return None
    return error_page(request, status, str(body.get("code", "")), str(body.get("error", "")))


async def _roost_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RoostError)
    return _for_page(request, exc.status, exc.body()) or error_response(
        exc.status, exc.body(), exc.headers
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    first = fields[0] if fields else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"][1:] or first["loc"]) or "request"
    body = {"error": f"invalid {where}: {first['msg']}", "code": "VALIDATION_ERROR"}
    return _for_page(request, 422, body) or error_response(422, {**body, "fields": fields})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase.lower()
    code = _HTTP_CODES.get(exc.status_code, phrase.upper().replace(" ", "_").replace("-", "_"))
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else phrase
    body = {"error": message, "code": code}
    return _for_page(request, exc.status_code, body) or error_response(exc.status_code, body)


class Unexpected:
    """Any error no handler answered: logged with its traceback, and answered as JSON 500
    on the same connection, which stays usable. (Starlette's last-resort handler answers
    and then re-raises, and the server drops the keep-alive connection without saying
    so.) If the response had begun, the error propagates and the connection is closed,
    as nothing else can tell the client the response is cut short."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = False

        async def sending(message: Message) -> None:
            nonlocal began
            began = began or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            if began:
                raise
            status, body = unforeseen(error, scope)
            await error_response(status, body)(scope, receive, send)


def unforeseen(error: Exception, scope: Scope) -> tuple[int, dict[str, Any]]:
    """The answer to an error nothing handled, logged: 507 for a full disk (one line),
    else 500 (with the traceback: a bug)."""
    if isinstance(error, OSError) and out_of_space(error):
        log.warning("no room on disk for %s %s: %s", scope["method"], scope["path"], error)
        return 507, no_room("what this request writes", error).body()
    log.error("unexpected error on %s %s", scope["method"], scope["path"], exc_info=error)
    return 500, {"error": "internal server error", "code": "INTERNAL_ERROR"}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RoostError, _roost_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(Unexpected)
