"""uvicorn's HTTP/1.1 protocol with a deadline on every request.

uvicorn waits for a request's headers and body as long as a client keeps sending
(its keep-alive timeout only runs between requests): a client that trickles a byte
now and then held a connection, and a request's memory, for ever. Here a new
connection must begin a request within ``ROOST_CLIENT_TIMEOUT`` seconds, and each
request must be complete (headers and body) within that long of its first byte;
otherwise it is answered 408 ``REQUEST_TIMEOUT`` (when nothing was answered yet) and
the connection is closed. A request that arrives whole in one read costs no timer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_TIMEOUT_S = 30.0


class DeadlineHttpProtocol(HttpToolsProtocol):
    client_timeout = DEFAULT_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._began = 0.0
        self._receiving = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.loop.time() + self.client_timeout)  # to begin a request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
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


def with_timeout(seconds: float) -> type[DeadlineHttpProtocol]:
    """The protocol class for uvicorn's ``http=``, with this deadline."""
    return type("DeadlineHttpProtocol", (DeadlineHttpProtocol,), {"client_timeout": seconds})
