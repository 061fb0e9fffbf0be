"""The app's backup rules with real processes: pre before the copy and in it, post
after it, the services stopped (and started again) or frozen meanwhile, and a hook that
fails failing the backup with its words."""

from __future__ import annotations

import io
import sys
import tarfile
from typing import Any

import httpx
import pytest
import zstandard

from roost.services.context import Context
from tests.api.test_backups import backed_up
from tests.api.test_restore import pid

pytestmark = pytest.mark.slow


def spec(**backup: Any) -> dict[str, Any]:
    return {
        "name": "careful",
        "version": "1",
        "install": ["sh", "-c", "mkdir -p data"],
        "services": {"main": {"command": [sys.executable, "-c", "import time; time.sleep(10**6)"]}},
        "backup": backup,
    }


async def started(client: httpx.AsyncClient, **backup: Any) -> None:
    assert (await client.post("/v1/apps", json=spec(**backup))).status_code == 201
    created = await client.post("/v1/instances", json={"app": "careful", "instance_id": "c1"})
    assert created.status_code == 201, created.text
    assert (await client.post("/v1/instances/c1/start")).status_code == 200


def names_in(context: Context, backup: dict[str, Any]) -> list[str]:
    archive = context.home.path / "backups" / "c1" / f"{backup['name']}.tar.zst"
    raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(archive.read_bytes())).read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return tar.getnames()


async def test_pre_and_post_run_around_a_copy_taken_with_the_services_stopped(
    client: httpx.AsyncClient, context: Context
) -> None:
    await started(
        client,
        pre=["sh", "-c", "echo saved > data/flushed"],
        post=["sh", "-c", "echo done > data/after"],
        mode="stop",
    )
    before = await pid(client, "c1")
    done = await backed_up(client, "c1")
    assert done["status"] == "completed", done
    names = names_in(context, done)
    assert "files/data/flushed" in names and "files/data/after" not in names
    assert (context.home.path / "instances" / "c1" / "data" / "after").read_text() == "done\n"
    after = await pid(client, "c1")
    assert after != before  # stopped for the copy, started again
    assert (await client.get("/v1/instances/c1")).json()["state"] == "active"


async def test_pause_mode_freezes_and_thaws_the_same_process(
    client: httpx.AsyncClient, context: Context
) -> None:
    await started(client, mode="pause")
    before = await pid(client, "c1")
    done = await backed_up(client, "c1")
    assert done["status"] == "completed"
    services = (await client.get("/v1/instances/c1/services")).json()["services"]
    assert (services[0]["pid"], services[0]["status"]) == (before, "running")


@pytest.mark.parametrize(
    ("backup", "said"),
    [
        (
            {"pre": ["sh", "-c", "echo no disk for the save; exit 3"]},
            "backup.pre exited 3: no disk for the save",
        ),
        ({"post": ["sh", "-c", "exit 4"]}, "backup.post exited 4"),
        ({"pre": ["/nonexistent/flush"]}, "backup.pre exited 127: cannot run '/nonexistent/flush'"),
    ],
)
async def test_a_failing_hook_fails_the_backup(
    client: httpx.AsyncClient, context: Context, backup: dict[str, Any], said: str
) -> None:
    await started(client, **backup)
    done = await backed_up(client, "c1")
    assert done["status"] == "failed" and done["error"].startswith(said), done
    folder = context.home.path / "backups" / "c1"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing kept
    assert (await client.get("/v1/instances/c1")).json()["state"] == "active"


def test_a_bad_mode_is_refused_by_the_spec() -> None:
    from roost.domain.spec import parse_app

    with pytest.raises(Exception, match="mode"):
        parse_app("careful", spec(mode="freeze"))
    assert parse_app("careful", spec(mode="pause")).backup.mode == "pause"
