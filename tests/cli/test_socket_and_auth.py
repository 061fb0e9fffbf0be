"""The real executable against real servers: the home's socket, a server that checks
tokens, and a bind that would expose the host."""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from roost.home import Home
from tests.api.test_seed_001_curl import SEED_EXAMPLES
from tests.servers import free_port, server

pytestmark = pytest.mark.slow
ROOST = str(Path(sys.executable).with_name("roost"))
FIRST_TOKEN = re.compile(r"first admin token, shown once: (\S+)")


def roost(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user types it on the host: no URL, so over the home's socket."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ROOST_URL", "ROOST_HOME", "ROOST_DATABASE_URL")
    }
    return subprocess.run(
        [ROOST, "--home", str(home), *args], env=env, capture_output=True, text=True, timeout=60
    )


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "GET", path, headers={"Authorization": f"Bearer {token}"} if token else {}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_cli_reaches_its_own_home_over_its_socket(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "home", tmp_path / "b" / "home"
    with server(first, free_port()), server(second, free_port()):
        socket_file = Home(first).server_socket
        assert stat.S_IMODE(socket_file.stat().st_mode) == 0o600
        made = roost(first, "create", "only-in-a")
        assert made.returncode == 0, made.stderr
        assert "started roost server" not in made.stderr  # it found the server on the socket
        listed = roost(second, "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == []
        assert [i["instance_id"] for i in json.loads(roost(first, "list", "--json").stdout)] == [
            "only-in-a"
        ]
        admin = roost(first, "token", "create", "--admin")  # the host's owner mints one
        assert admin.returncode == 0, admin.stderr
        assert admin.stdout.strip().startswith("roost_")
    assert not socket_file.exists()  # removed when the server stops


def test_the_socket_serves_only_root_and_roosts_own_user(tmp_path: Path) -> None:
    if os.getuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root, and a python another user may run, to try it as nobody")
    del tmp_path  # a folder others may pass through: pytest's own is the user's alone
    open_folder = Path(tempfile.mkdtemp(prefix="roost-socket-"))
    open_folder.chmod(0o755)
    home = open_folder / "home"
    with server(home, free_port()):
        socket_file = Home(home).server_socket
        os.chmod(home, 0o755)  # as if the folder and the file were left open to others
        os.chmod(socket_file, 0o666)
        probe = (  # the server may close before the request is even sent: that counts too
            "import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])\n"
            "try:\n"
            "    s.sendall(b'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n')\n"
            "    print('answered' if s.recv(100) else 'closed')\n"
            "except (ConnectionResetError, BrokenPipeError):\n    print('closed')\n"
        )
        as_nobody = subprocess.run(
            ["/usr/bin/python3", "-c", probe, str(socket_file)],  # one nobody may run
            user="nobody",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert as_nobody.stdout.strip() == "closed", as_nobody.stderr  # unanswered
        with socket.socket(socket.AF_UNIX) as own:
            own.settimeout(5)
            own.connect(str(socket_file))
            own.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert own.recv(100).startswith(b"HTTP/1.1 200")
    shutil.rmtree(open_folder)


def test_auth_on_prints_the_first_admin_token_once(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    log = tmp_path / f"serve-{port}.log"
    with server(home, port, "--auth", "on"):
        token = FIRST_TOKEN.findall(log.read_text())[0]
        assert get(port, "/v1/instances")[0] == 401
        assert get(port, "/v1/instances", "roost_0000000000000000_wrong")[0] == 401
        assert get(port, "/v1/instances", token)[0] == 200
        assert get(port, "/health")[0] == 200
    with server(home, port, "--auth", "on"):
        assert get(port, "/v1/instances", token)[0] == 200
    assert len(FIRST_TOKEN.findall(log.read_text())) == 1  # never shown again
    assert token not in (home / "roost.db").read_bytes().decode("latin-1")  # only a hash


def test_a_bootstrap_token_from_the_environment_becomes_the_first_admin(tmp_path: Path) -> None:
    port = free_port()
    chosen = "my-automation-token-0123456789"
    with server(tmp_path / "home", port, "--auth", "on", ROOST_BOOTSTRAP_TOKEN=chosen):
        assert get(port, "/v1/users", chosen)[0] == 200
        assert not FIRST_TOKEN.findall((tmp_path / f"serve-{port}.log").read_text())


def test_an_open_bind_without_auth_is_refused_unless_insecure(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    refused = roost(home, "serve", "--host", "0.0.0.0", "--port", str(port), "--auth", "off")
    assert refused.returncode == 1
    assert (
        refused.stderr.strip().endswith("(INSECURE_BIND)")
        and len(refused.stderr.strip().splitlines()) == 1
    )
    with server(home, port, "--host", "0.0.0.0", "--auth", "off", "--insecure"):
        assert get(port, "/v1/instances")[0] == 200
    with server(home, port, "--host", "0.0.0.0"):  # auto: auth on, off loopback
        assert get(port, "/v1/instances")[0] == 401


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_seed_001_examples_run_with_a_token_header(tmp_path: Path) -> None:
    port = free_port()
    token = "seed-token-for-the-curl-examples"
    statuses = []
    with server(tmp_path / "home", port, "--auth", "on", ROOST_BOOTSTRAP_TOKEN=token):
        for line in SEED_EXAMPLES.strip().splitlines():
            command = shlex.split(line.replace("localhost:8080", f"localhost:{port}"))
            authorized = [
                *command,
                "-H",
                f"Authorization: Bearer {token}",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ]
            statuses.append(
                subprocess.run(authorized, capture_output=True, text=True, timeout=30).stdout
            )
            bare = [*command, "-s", "-o", "/dev/null", "-w", "%{http_code}"]
            if "/health" not in line:
                assert (
                    subprocess.run(bare, capture_output=True, text=True, timeout=30).stdout == "401"
                )
    assert statuses == ["204", "200", "404", "204", "204", "200", "404", "404", "200"]


def test_the_cli_talks_to_a_remote_server_with_roost_token(tmp_path: Path) -> None:
    port = free_port()
    token = "remote-admin-token-0123456789"
    with server(tmp_path / "home", port, "--auth", "on", ROOST_BOOTSTRAP_TOKEN=token):
        env = {k: v for k, v in os.environ.items() if k not in ("ROOST_TOKEN", "ROOST_HOME")}
        env |= {"ROOST_URL": f"http://127.0.0.1:{port}", "XDG_DATA_HOME": str(tmp_path / "cli")}
        refused = subprocess.run(
            [ROOST, "list"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1 and refused.stderr.strip().endswith("(UNAUTHORIZED)")
        env["ROOST_TOKEN"] = token
        listed = subprocess.run(
            [ROOST, "list"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0 and listed.stdout.strip() == "no instances", listed.stderr
