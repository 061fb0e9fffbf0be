"""The CLI's HTTP: the standard library's ``http.client``, a keep-alive connection per thread.

Every ``roost`` command is a new process, so what it imports it pays on every call;
httpx (with httpcore, h11, and the imports of its own command line) costs a command
about 70 ms before it sends anything. The CLI needs no more than requests with JSON,
a few headers, and responses read whole or line by line.
"""

from __future__ import annotations

import http.client
import json as json_module
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


class TransportError(Exception):
    """The server could not be reached, or broke the exchange off; ``refused``: nothing
    listens at the address (a server can be started there)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Reply:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json_module.loads(self.content)


class UnixConnection(http.client.HTTPConnection):
    """HTTP over the home's unix socket (``roost.sock``)."""

    def __init__(self, path: Path) -> None:
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        from roost.unix import connect

        self.sock = connect(self._path, self.timeout)


class HttpSession:
    """Requests to one base URL (over ``unix_socket`` when given); each thread keeps its
    own connection open. ``token``: sent as ``Authorization: Bearer``."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        *,
        unix_socket: Path | None = None,
        token: str | None = None,
    ) -> None:
        self._unix_socket = unix_socket
        self._authorization = {"Authorization": f"Bearer {token}"} if token else {}
        parts = urlsplit(base_url)
        self._invalid = parts.scheme not in ("http", "https") or not parts.hostname
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        with self.stream(
            method,
            path,
            params=params,
            json=json,
            content=content,
            headers=headers,
            timeout=self._timeout,
        ) as response:
            return Reply(response.status, response.read())

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[http.client.HTTPResponse]:
        """The response, its body still to be read (``readline`` gives it line by line)."""
        if self._invalid:
            raise TransportError("not an http:// or https:// URL")
        target = self._prefix + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        sent = {**self._authorization, **(headers or {})}
        if json is not None:
            content = json_module.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        # A kept-alive connection the server closed while it was idle fails at once: asked
        # once more on a new one. (The server closes idle connections, never one it has
        # read a request on, so nothing is done twice.)
        for attempt in (1, 2):
            connection = self._connection()
            connection.timeout = timeout
            reused = connection.sock is not None
            if reused:
                connection.sock.settimeout(timeout)
            try:
                connection.request(method, target, body=content, headers=sent)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                connection.close()
                if reused and attempt == 1:
                    continue
                raise TransportError(str(exc) or type(exc).__name__) from exc
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                # nothing listens: a refused port, or a socket file that is missing or stale
                refused = isinstance(exc, ConnectionRefusedError | FileNotFoundError)
                raise TransportError(str(exc) or type(exc).__name__, refused=refused) from exc
            try:
                yield response
            except (OSError, http.client.HTTPException) as exc:
                raise TransportError(str(exc) or type(exc).__name__) from exc
            finally:
                if not response.isclosed():  # left unread: the connection cannot be reused
                    connection.close()
            return

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._unix_socket is not None:
                connection = UnixConnection(self._unix_socket)
            elif self._https:
                import ssl  # only here: plain HTTP should not pay for it

                connection = http.client.HTTPSConnection(
                    self._host, self._port, context=ssl.create_default_context()
                )
            else:
                connection = http.client.HTTPConnection(self._host, self._port)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
