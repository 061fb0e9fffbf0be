"""The CLI's HTTP session: keep-alive reuse, a connection the server dropped, refusals."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from roost.cli.http import HttpSession, TransportError
from tests.servers import free_port

REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"


@pytest.fixture
def forgetful_server() -> Iterator[tuple[int, list[int]]]:
    """Answers one request per connection, keep-alive promised, then drops the connection
    (as a server does when its idle timeout strikes); records each connection's count."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    served: list[int] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(4096)
                served.append(len(served) + 1)
                body = b'{"n": %d}' % served[-1]
                connection.sendall(REPLY % (len(body), body))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], served
    listener.close()


def test_a_dropped_keep_alive_connection_is_opened_again_once(
    forgetful_server: tuple[int, list[int]],
) -> None:
    port, served = forgetful_server
    session = HttpSession(f"http://127.0.0.1:{port}", timeout=5)
    try:
        assert session.request("GET", "/a", params={"x": "1 2"}).json() == {"n": 1}
        assert session.request("GET", "/b").json() == {"n": 2}  # the first was dropped
        assert served == [1, 2]
    finally:
        session.close()


def test_nothing_listening_is_a_refusal_and_a_bad_url_an_error() -> None:
    with pytest.raises(TransportError) as refused:
        HttpSession(f"http://127.0.0.1:{free_port()}", timeout=5).request("GET", "/")
    assert refused.value.refused
    with pytest.raises(TransportError, match="not an http") as invalid:
        HttpSession("ftp://example.org", timeout=5).request("GET", "/")
    assert not invalid.value.refused
