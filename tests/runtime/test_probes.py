"""Probes against real sockets, a real HTTP server and real commands."""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.runtime.plan import Probe
from roost.runtime.probes import run_probe
from tests.servers import free_port


class Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/ok": 200, "/moved": 302, "/broken": 503}.get(self.path.split("?")[0], 404)
        if self.path.startswith("/slow"):
            time.sleep(1.0)
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def probe(kind: str, **fields: object) -> Probe:
    return Probe(kind, timeout=0.5, **fields)  # type: ignore[arg-type]


async def test_tcp_passes_on_a_listener_and_fails_on_a_closed_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        passed = await run_probe(probe("tcp", port=port), Path("."), {})
        assert passed.passed and passed.error is None and passed.latency_ms >= 0
    closed = await run_probe(probe("tcp", port=port), Path("."), {})
    assert not closed.passed and closed.ran
    assert closed.error == f"cannot connect to port {port}: Connection refused"


async def test_http_passes_on_2xx_and_3xx_only(web: int) -> None:
    base = f"http://127.0.0.1:{web}"
    for path, passed in (("/ok", True), ("/moved", True), ("/broken", False), ("/x", False)):
        result = await run_probe(probe("http", url=base + path), Path("."), {})
        assert result.passed is passed, (path, result)
    broken = await run_probe(probe("http", url=base + "/broken"), Path("."), {})
    assert broken.error == f"{base}/broken answered 503"
    slow = await run_probe(probe("http", url=base + "/slow"), Path("."), {})
    assert not slow.passed and slow.error == f"no answer from {base}/slow within 0.5s"
    refused = await run_probe(probe("http", url=f"http://127.0.0.1:{free_port()}/"), Path("."), {})
    assert not refused.passed and refused.error is not None and "cannot reach" in refused.error


async def test_http_that_is_not_http_fails(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        async def babble() -> None:
            loop = asyncio.get_running_loop()
            connection, _ = await loop.sock_accept(listener)
            await loop.sock_sendall(connection, b"SSH-2.0-OpenSSH\r\n")
            connection.close()

        listener.setblocking(False)
        talker = asyncio.create_task(babble())
        result = await run_probe(probe("http", url=f"http://127.0.0.1:{port}/"), tmp_path, {})
        await talker
    assert not result.passed and result.error == f"http://127.0.0.1:{port}/ did not answer HTTP"


async def test_a_command_passes_on_exit_0_in_its_folder_with_its_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / "ready").write_text("")
    env = {**os.environ, "WANT": "ready"}
    script = ["sh", "-c", 'test -f "$WANT"']
    assert (await run_probe(probe("command", command=script), tmp_path, env)).passed
    (tmp_path / "ready").unlink()
    failed = await run_probe(
        probe("command", command=["sh", "-c", "echo not yet; exit 3"]), tmp_path, env
    )
    assert (failed.passed, failed.error) == (False, "'sh' exited 3: not yet")


async def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    script = [
        sys.executable,
        "-c",
        f"import os,subprocess,time; p=subprocess.Popen(['sleep','30']); open({str(marker)!r},'w').write(str(p.pid)); time.sleep(30)",
    ]
    result = await run_probe(probe("command", command=script), tmp_path, dict(os.environ))
    assert (result.passed, result.error) == (
        False,
        f"{sys.executable!r} did not finish within 0.5s",
    )
    child = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the probe's child outlived its timeout")


async def test_a_command_that_cannot_run_is_an_error_not_a_failure(tmp_path: Path) -> None:
    result = await run_probe(probe("command", command=["/no/such/probe"]), tmp_path, {})
    assert (result.passed, result.ran) == (False, False)
    assert result.error == "cannot run '/no/such/probe': No such file or directory"
