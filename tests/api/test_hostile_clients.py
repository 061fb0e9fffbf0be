"""A real ``roost serve`` against clients that trickle, stall or flood: each is cut off
in time, and the server's memory stays flat."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator

import psutil
import pytest

from tests.servers import free_port, server

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


def answer(sock: socket.socket, within: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(within)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


Served = tuple[int, subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    chosen = free_port()
    with server(home, chosen, ROOST_CLIENT_TIMEOUT="1") as process:
        yield chosen, process


def test_headers_that_trickle_are_cut_off(port: Served) -> None:
    number, _ = port
    with socket.create_connection(("127.0.0.1", number)) as sock:
        started = time.monotonic()
        for piece in (b"GET /v1/insta", b"nces HTTP/1.1\r\nHo", b"st: localhost\r\n"):
            sock.sendall(piece)
            time.sleep(0.4)
        got = answer(sock)
    assert got.startswith(b"HTTP/1.1 408 ") and b"REQUEST_TIMEOUT" in got
    assert 0.9 < time.monotonic() - started < 5


def test_a_body_that_trickles_is_cut_off_and_nothing_is_written(port: Served) -> None:
    number, _ = port
    with socket.create_connection(("127.0.0.1", number)) as sock:
        sock.sendall(
            b"PUT /v1/cache/slow?instance_id=slow HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Length: 10\r\n\r\nab"
        )
        got = answer(sock)
    assert got.startswith(b"HTTP/1.1 408 ")
    check = http.client.HTTPConnection("127.0.0.1", number, timeout=10)
    check.request("GET", "/v1/cache/slow?instance_id=slow")
    assert check.getresponse().status == 404  # no value cut short was stored
    check.close()


def test_a_connection_that_says_nothing_is_closed(port: Served) -> None:
    number, _ = port
    with socket.create_connection(("127.0.0.1", number)) as sock:
        started = time.monotonic()
        assert answer(sock) == b""
    assert time.monotonic() - started < 5


def test_requests_that_arrive_in_time_keep_their_connection(port: Served) -> None:
    number, _ = port
    connection = http.client.HTTPConnection("127.0.0.1", number, timeout=10)
    for _ in range(3):
        connection.request("GET", "/health")
        assert connection.getresponse().read()
        time.sleep(0.5)  # under the timeout between requests: the keep-alive one applies
    connection.close()


@pytest.mark.parametrize(
    "path",
    ["/v1/instances", "/v1/cache/batch/set?instance_id=flood", "/v1/cache/big?instance_id=flood"],
)
def test_a_flood_of_100_mb_leaves_the_memory_flat(port: Served, path: str) -> None:
    number, process = port
    rss = psutil.Process(process.pid)
    before = rss.memory_info().rss
    method = "PUT" if path.startswith("/v1/cache/big") else "POST"
    with socket.create_connection(("127.0.0.1", number)) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"%x\r\n%s\r\n" % (MIB, b" " * MIB)
        try:
            for _ in range(100):
                sock.sendall(chunk)
        except OSError:
            pass  # refused and closed before it was all sent: what should happen
        got = answer(sock)
    assert b" 413 " in got.split(b"\r\n", 1)[0], got[:200]
    assert rss.memory_info().rss - before < 40 * MIB
