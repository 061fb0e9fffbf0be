"""The CLI's HTTP client: JSON in and out, API errors raised as one-line CliErrors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import typer

from roost.cli.http import HttpSession, Reply, TransportError
from roost.cli.server import ensure_server, host_and_port, local_socket
from roost.domain.errors import RoostError
from roost.domain.network import is_loopback
from roost.home import IDENTITY_HEADER, identity
from roost.settings import Settings


class CliError(Exception):
    """An error the CLI prints as one line before exiting non-zero."""

    def __init__(self, message: str, code: str = "ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _is_local(url: str) -> bool:
    try:
        return is_loopback(host_and_port(url)[0])
    except RoostError:  # a bad URL: the request says so
        return False


def client_of(ctx: typer.Context) -> Client:
    """The client the ``roost`` callback put on the command's context."""
    client: Client = ctx.obj
    return client


class Client:
    """Talks to the home's server over its unix socket (as its owner: no token), or to
    the server at ``--url``/``ROOST_URL`` over HTTP (with ``ROOST_TOKEN``); when nothing
    listens, starts one (a local URL) and asks again. A server that runs costs no extra
    round trip, but for a local URL given with a home and no token: its first request is
    ``/health``, to check that the server there serves that home (another home's server
    would act on the wrong one)."""

    def __init__(self, settings: Settings, *, on_start: Any = None) -> None:
        self.settings = settings
        self._on_start = on_start
        socket_path = local_socket(settings)
        self._where = settings.url if socket_path is None else str(socket_path)
        self._http = HttpSession(
            settings.url if socket_path is None else "http://localhost",
            timeout=60.0,
            unix_socket=socket_path,
            token=settings.token if socket_path is None else None,
        )
        self._ensured = False
        self._home_unchecked = (
            socket_path is None
            and settings.home_explicit
            and settings.token is None
            and _is_local(settings.url)
        )

    def _check_home(self) -> None:
        """Refuse a local server that serves another home than the one named (once)."""
        self._home_unchecked = False
        try:
            with self._http.stream("GET", "/health") as response:
                served = response.getheader(IDENTITY_HEADER)
                response.read()
        except TransportError as exc:
            if not exc.refused:
                raise self._unreachable(exc) from exc
            self._start_server()  # ours, for our home
            return
        if served is not None and served != identity(self.settings.home):
            raise CliError(
                f"the server at {self.settings.url} serves another home than "
                f"{self.settings.home}: give that server's --home, or this home's --url",
                "HOME_MISMATCH",
            )

    def _start_server(self) -> None:
        started = ensure_server(self.settings)
        self._ensured = True
        if started is not None and self._on_start is not None:
            self._on_start(started)

    def _unreachable(self, exc: Exception) -> CliError:
        return CliError(f"cannot reach roost at {self._where}: {exc}", "UNREACHABLE")

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        if self._home_unchecked:
            self._check_home()
        try:
            response = self._http.request(method, path, **kwargs)
        except TransportError as exc:
            if not exc.refused or self._ensured:
                raise self._unreachable(exc) from exc
            self._start_server()
            return self.request(method, path, **kwargs)
        if response.status_code >= 400:
            self._raise_for(response.status_code, response.content, path)
        return response

    @staticmethod
    def _raise_for(status: int, content: bytes, path: str) -> None:
        try:
            body = json.loads(content)
            message, code = str(body["error"]), str(body.get("code", "ERROR"))
        except (ValueError, KeyError, TypeError):
            raise CliError(f"HTTP {status} from {path}") from None
        raise CliError(message, code)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    def stream_lines(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        method: str = "GET",
        json: Any = None,
    ) -> Iterator[str]:
        """The lines of a streamed response, as they arrive."""
        if self._home_unchecked:
            self._check_home()
        try:
            with self._http.stream(method, path, params=params, json=json) as response:
                if response.status >= 400:
                    self._raise_for(response.status, response.read(), path)
                for line in iter(response.readline, b""):
                    yield line.decode(errors="replace").rstrip("\r\n")
        except TransportError as exc:
            if not exc.refused or self._ensured:  # refused comes before any line
                raise self._unreachable(exc) from exc
            self._start_server()
            yield from self.stream_lines(path, params, method=method, json=json)

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
        self._http.close()
