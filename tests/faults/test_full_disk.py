"""A home on a small tmpfs, filled to the last byte under write load: every write that
cannot fit is a JSON 507 naming what could not be written, reads go on, nothing
acknowledged is lost, and the server writes again by itself once there is room.
(Skipped where a tmpfs cannot be mounted.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from roost.domain.errors import InsufficientStorage
from roost.instance_dir import InstanceDir, RenderedFile
from roost.runtime.logs import rotate
from tests.servers import free_port, server, tmpfs

pytestmark = pytest.mark.slow
VALUE = os.urandom(48 * 1024)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """An empty 16 MiB tmpfs, mounted for this test."""
    with tmpfs(tmp_path / "home", "size=16m,mode=0700") as mount:
        yield mount


def fill(disk: Path) -> Path:
    """Take every byte left on ``disk``; the file that holds them. Unbuffered, so that
    nothing is left to flush (and fail) when the file is closed."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (65536, 512):  # then the last bytes of a partial block
            try:
                while out.write(b"\0" * size):
                    pass
            except OSError:
                pass
    return filler


def client(port: int) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)


def put(http: httpx.Client, tenant: str, key: str, value: bytes) -> httpx.Response:
    return http.put(f"/v1/cache/{key}", content=value, headers={"X-Instance-ID": tenant})


def is_507(response: httpx.Response) -> bool:
    return (
        response.status_code == 507
        and response.headers["content-type"].startswith("application/json")
        and response.json()["code"] == "INSUFFICIENT_STORAGE"
    )


def test_a_full_disk_refuses_writes_with_507_and_loses_nothing(disk: Path, tmp_path: Path) -> None:
    port = free_port()
    acknowledged: dict[tuple[str, str], bytes] = {}
    with server(disk, port) as process, client(port) as http:
        for n in range(20):
            assert put(http, "tenant-1", f"before-{n}", VALUE).status_code == 204
            acknowledged["tenant-1", f"before-{n}"] = VALUE
        assert http.post("/v1/instances", json={"instance_id": "made-before"}).status_code == 201
        filler = fill(disk)
        answers = []
        for n in range(60):  # writes of every kind while the disk is full
            tenant = "tenant-1" if n % 3 else f"new-tenant-{n}"
            response = put(http, tenant, f"during-{n}", VALUE)
            answers.append(response)
            if response.status_code == 204:
                acknowledged[tenant, f"during-{n}"] = VALUE
        for n in range(5):
            answers.append(http.post("/v1/instances", json={"instance_id": f"during-{n}"}))
        answers.append(http.put("/v1/instances/made-before/config", json={"x": "y" * 30000}))
        assert all(is_507(a) or a.status_code in (201, 204) for a in answers), [
            (a.status_code, a.text) for a in answers if not is_507(a)
        ]
        refused = [a.json() for a in answers if is_507(a)]
        assert len(refused) >= 55
        assert {r["what"] for r in refused} >= {"cache values of 'tenant-1'", "the registry"}
        for (tenant, key), value in acknowledged.items():  # reads go on
            got = http.get(f"/v1/cache/{key}", headers={"X-Instance-ID": tenant})
            assert got.status_code == 200 and got.content == value
        assert http.get("/v1/instances").status_code == 200

        filler.unlink()  # room again: writes work again, by themselves
        assert put(http, "tenant-1", "after", VALUE).status_code == 204
        acknowledged["tenant-1", "after"] = VALUE
        assert http.post("/v1/instances", json={"instance_id": "made-after"}).status_code == 201
        process.send_signal(signal.SIGKILL)
        process.wait()
    log = (tmp_path / f"serve-{port}.log").read_text()
    assert "Traceback" not in log
    assert log.count("no room on disk for") == 1 and "can be written again" in log
    assert log.count("has no room on disk") == 1 and "can write again" in log

    port = free_port()
    with server(disk, port), client(port) as http:  # after kill -9: every acknowledged write
        for (tenant, key), value in acknowledged.items():
            assert http.get(f"/v1/cache/{key}", headers={"X-Instance-ID": tenant}).content == value
        assert http.get("/v1/instances/made-after").status_code == 200


def test_a_server_started_on_a_full_disk_serves_reads_or_says_why_not(disk: Path) -> None:
    port = free_port()
    with server(disk, port) as process, client(port) as http:
        assert put(http, "tenant-1", "kept", b"still here").status_code == 204
        process.send_signal(signal.SIGKILL)  # its lock file still names it
        process.wait()
    lock = (disk / "serve.lock").read_bytes()
    filler = fill(disk)
    with server(disk, port), client(port) as http:  # starts, read-only where it must be
        assert http.get("/v1/cache/kept", headers={"X-Instance-ID": "tenant-1"}).content == (
            b"still here"
        )
        assert is_507(put(http, "tenant-1", "more", VALUE))
    assert (disk / "serve.lock").read_bytes() == b"", "a clean stop empties it"
    assert lock.startswith(b"pid ")
    filler = fill(disk)  # what the clean stop freed (the lock emptied, the WAL checkpointed)
    refused = subprocess.run(  # no room even for its pid: one line, and nothing emptied
        [sys.executable, "-m", "roost", "--home", str(disk), "serve", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("(INSUFFICIENT_STORAGE)")
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    filler.unlink()


def test_log_rotation_on_a_full_disk_keeps_the_log_whole(disk: Path) -> None:
    log = disk / "web.log"
    log.write_bytes(b"a line\n" * 200_000)
    filler = fill(disk)
    with pytest.raises(InsufficientStorage):
        rotate(log, max_bytes=1000, keep=3)
    assert log.stat().st_size == 1_400_000 and not (disk / "web.log.1").exists()
    filler.unlink()
    assert rotate(log, max_bytes=1000, keep=3)
    assert (disk / "web.log.1").stat().st_size == 1_400_000 and log.stat().st_size == 0


def test_instance_files_on_a_full_disk_are_507_naming_the_instance(disk: Path) -> None:
    fill(disk)
    with pytest.raises(InsufficientStorage) as refused:
        InstanceDir(disk, "tenant-1").write([RenderedFile("app.conf", "x = 1\n" * 10_000)])
    assert "tenant-1" in refused.value.message
