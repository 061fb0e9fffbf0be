"""The CLI's HTTP client: JSON in and out, API errors raised as one-line CliErrors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import typer

from roost.cli.server import ensure_server
from roost.settings import Settings


class CliError(Exception):
    """An error the CLI prints as one line before exiting non-zero."""

    def __init__(self, message: str, code: str = "ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def client_of(ctx: typer.Context) -> Client:
    """The client the ``roost`` callback put on the command's context."""
    client: Client = ctx.obj
    return client


class Client:
    def __init__(self, settings: Settings, *, on_start: Any = None) -> None:
        self.settings = settings
        self._on_start = on_start
        self._http: httpx.Client | None = None

    def _connect(self) -> httpx.Client:
        if self._http is None:
            started = ensure_server(self.settings)
            if started is not None and self._on_start is not None:
                self._on_start(started)
            self._http = httpx.Client(base_url=self.settings.url, timeout=60.0)
        return self._http

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._connect().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(
                f"cannot reach roost at {self.settings.url}: {exc}", "UNREACHABLE"
            ) from exc
        if response.status_code >= 400:
            self._raise_for(response, path)
        return response

    @staticmethod
    def _raise_for(response: httpx.Response, path: str) -> None:
        try:
            body = response.json()
            message, code = str(body["error"]), str(body.get("code", "ERROR"))
        except (ValueError, KeyError, TypeError):
            raise CliError(f"HTTP {response.status_code} from {path}") from None
        raise CliError(message, code)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    def stream_lines(self, path: str, params: dict[str, Any]) -> Iterator[str]:
        """The lines of a streamed text response, as they arrive."""
        try:
            with self._connect().stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise_for(response, path)
                yield from response.iter_lines()
        except httpx.HTTPError as exc:
            raise CliError(
                f"cannot reach roost at {self.settings.url}: {exc}", "UNREACHABLE"
            ) from exc

    def collect(
        self,
        path: str,
        field: str,
        params: list[tuple[str, str]],
        headers: dict[str, str] | None = None,
    ) -> list[Any]:
        """Every item of a cursor-paged listing (``{field: [...], "next_cursor": ...}``)."""
        items: list[Any] = []
        cursor: str | None = None
        while True:
            page_params = [*params, *([("cursor", cursor)] if cursor else [])]
            page = self.json("GET", path, params=page_params, headers=headers)
            items += page[field]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
