"""The README's CLI lines, run exactly as printed in a fresh shell (no ``.venv/bin`` on
PATH, no roost variables) against the demo that ``scripts/serve`` sets up: each line
must succeed, and say what the README says it does."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from roost.cli.server import is_healthy
from roost.runtime.inventory import MARKER
from roost.runtime.local import cgroup_scope
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.demo_ports]
REPO = Path(__file__).parent.parent
FRESH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEMO_PORTS = (3311, 5273, 3411, 5373, 3611, 5573)  # instances 1, 2 and 4 of the stack


def readme_cli_block() -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(r"```bash\n(export PATH=\$PWD/\.venv/bin:.*?)```", text, re.DOTALL)
    assert found, "the README's CLI block is gone"
    return found.group(1)


def taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A folder like the top of the checkout, with the demo served from it."""
    busy = [port for port in DEMO_PORTS if taken(port)]
    if busy:
        pytest.skip(f"the demo's fixed ports {busy} are taken on this host")
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    home = tmp_path / "demo-home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    demo_py = str(REPO / "examples" / "demo.py")
    log = open(tmp_path / "demo.log", "wb")  # noqa: SIM115 - the server's, closed below
    demo = subprocess.Popen(
        [sys.executable, demo_py, "--home", str(home), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not is_healthy(f"http://127.0.0.1:{port}"):
            assert demo.poll() is None and time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.1)
        printed = (tmp_path / "demo.log").read_text()
        assert f"export PATH={Path(sys.executable).parent}:$PATH ROOST_HOME={home}" in printed
        yield tmp_path
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        log.close()
        scope = cgroup_scope(home) + "/"
        for process in psutil.process_iter():  # what the demo's instances run
            try:
                if process.environ().get(MARKER, "").startswith(scope):
                    process.kill()
            except psutil.Error:
                continue


def test_the_readme_cli_lines_work_as_printed(checkout: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env["PATH"] = FRESH_PATH
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", readme_cli_block()],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for said in (
        "1: active",
        "2: active",
        "4: active",
        "backend@4: running",
        "pvp: active (nothing to run: the app 'default' has no services)",
        "hello",
    ):
        assert said in out, out
    assert "<h1>" in out or "Directory listing" in out  # instance 1's backend answered
    status = out.split("2: active", 1)[1]
    assert "backend" in status and "frontend" in status
    down = subprocess.run(
        [
            "bash",
            "-c",
            "export PATH=$PWD/.venv/bin:$PATH ROOST_HOME=$PWD/demo-home; roost down all",
        ],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 0, down.stderr
