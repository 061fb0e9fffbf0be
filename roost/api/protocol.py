"""uvicorn's HTTP/1.1 protocol with a deadline on every request.

uvicorn waits for a request's headers and body as long as a client keeps sending
(its keep-alive timeout only runs between requests): a client that trickles a byte
now and then held a connection, and a request's memory, for ever. Here a new
connection must begin a request within ``ROOST_CLIENT_TIMEOUT`` seconds, and each
request must be complete (headers and body) within that long of its first byte;
otherwise it is answered 408 ``REQUEST_TIMEOUT`` (when nothing was answered yet) and
the connection is closed. A request that arrives whole in one read costs no timer.

Over the home's unix socket, the peer is checked first (``SO_PEERCRED``): only root
and the user roost runs as are served, and their requests are marked as coming from
the home's owner (``auth.PEER_UID_KEY``).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from roost.auth import PEER_UID_KEY

DEFAULT_TIMEOUT_S = 30.0
PEERCRED = struct.Struct("3i")  # pid, uid, gid


class DeadlineHttpProtocol(HttpToolsProtocol):
    client_timeout = DEFAULT_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._peer_uid: int | None = None
        self._began = 0.0
        self._receiving = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer_uid = peer_uid(transport)
        if self._peer_uid is not None and self._peer_uid not in (0, os.getuid()):
            transport.close()  # the socket is 0600 already: this is defence in depth
            return
        self._arm(self.loop.time() + self.client_timeout)  # to begin a request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._peer_uid is not None:
            self.scope[PEER_UID_KEY] = self._peer_uid  # type: ignore[literal-required]
        self._disarm()
        self._receiving = True
        self._began = self.loop.time()

    def on_message_complete(self) -> None:
        self._receiving = False
        self._disarm()
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._receiving and self._deadline is None:  # a request still coming in
            self._arm(self._began + self.client_timeout)

    def _arm(self, at: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_at(at, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle  # the last request's, until this one's headers are in
        answered = cycle is not None and cycle.response_started and not cycle.response_complete
        if self._receiving and not answered:
            body = json.dumps(
                {
                    "error": f"the request did not arrive within {self.client_timeout:g} s",
                    "code": "REQUEST_TIMEOUT",
                }
            ).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
        self.transport.close()


def peer_uid(transport: asyncio.BaseTransport) -> int | None:
    """The user id of the process at the other end of a unix socket (None: not one)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)
    _pid, uid, _gid = PEERCRED.unpack(credentials)
    return int(uid)


def with_timeout(seconds: float) -> type[DeadlineHttpProtocol]:
    """The protocol class for uvicorn's ``http=``, with this deadline."""
    return type("DeadlineHttpProtocol", (DeadlineHttpProtocol,), {"client_timeout": seconds})
