"""Seed 001's curl examples, as written, with curl, against a real ``roost serve``.

The only change to the seed's lines is the port: the server listens on a free one."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import free_port, server

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

SEED_EXAMPLES = """
curl -X PUT http://localhost:8080/v1/cache/player-score -H "X-Instance-ID: minecraft-server-001" -H "Content-Type: application/octet-stream" -d "1500"
curl -X GET http://localhost:8080/v1/cache/player-score -H "X-Instance-ID: minecraft-server-001"
curl -X GET http://localhost:8080/v1/cache/player-score -H "X-Instance-ID: minecraft-server-002"
curl -X PUT http://localhost:8080/v1/cache/player1 -H "X-Instance-ID: game-001" -d "Alice"
curl -X PUT http://localhost:8080/v1/cache/player2 -H "X-Instance-ID: game-001" -d "Bob"
curl -X POST http://localhost:8080/v1/cache/batch/get -H "X-Instance-ID: game-001" -H "Content-Type: application/json" -d '{"keys": ["player1", "player2", "player3"]}'
curl -X GET http://localhost:8080/v1/cache/mykey -H "X-Instance-ID: game-instance-123"
curl -X GET http://localhost:8080/v1/cache/mykey?instance_id=game-instance-123
curl -X GET http://localhost:8080/health
"""


def test_seed_001_curl_examples_as_written(tmp_path: Path) -> None:
    port = free_port()
    results = []
    with server(tmp_path / "home", port):
        for line in SEED_EXAMPLES.strip().splitlines():
            command = shlex.split(line.replace("localhost:8080", f"localhost:{port}"))
            done = subprocess.run(
                [*command, "-s", "-w", "\\n%{http_code}"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert done.returncode == 0, done.stderr
            body, _, status = done.stdout.rpartition("\n")
            results.append((int(status), body))
    put, get, other, p1, p2, batch, mykey, mykey_query, health = results
    assert put[0] == 204
    assert get == (200, "1500")
    assert other[0] == 404  # "Different instance cannot see the data"
    assert p1[0] == p2[0] == 204
    assert json.loads(batch[1]) == {
        "entries": {"player1": "Alice", "player2": "Bob"},
        "missing": ["player3"],
    }
    assert mykey[0] == mykey_query[0] == 404
    assert json.loads(mykey[1])["code"] == "KEY_NOT_FOUND"
    body = json.loads(health[1])
    assert health[0] == 200 and body["status"] == "healthy" and body["mode"] == "primary"
