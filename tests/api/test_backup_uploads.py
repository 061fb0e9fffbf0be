"""Archives uploaded through the API: one taken on another instance (another host) kept
and restored, and damaged, hostile or foreign ones refused with nothing kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from roost.domain.backups import Manifest
from roost.services.context import Context
from tests.api.test_backups import backed_up
from tests.test_archive import HOSTILE, crafted

pytestmark = pytest.mark.slow
NAME = "20261130T120000Z-moved-abcdef"


async def two(client: httpx.AsyncClient, context: Context) -> Path:
    for instance_id in ("u1", "u2"):
        assert (
            await client.post("/v1/instances", json={"instance_id": instance_id})
        ).status_code == 201
    data = context.home.path / "instances" / "u1" / "data"
    data.mkdir(parents=True)
    (data / "save.dat").write_bytes(b"progress " * 1000)
    return data


def nothing_kept(context: Context) -> bool:
    folder = context.home.path / "backups" / "u2"
    return not folder.exists() or list(folder.iterdir()) == []


async def test_an_archive_moves_to_another_instance_and_is_restored_there(
    client: httpx.AsyncClient, context: Context
) -> None:
    await two(client, context)
    taken = await backed_up(client, "u1")
    archive = (await client.get(f"/v1/instances/u1/backups/{taken['name']}/download")).content
    put = await client.put(f"/v1/instances/u2/backups/{NAME}", content=archive)
    assert put.status_code == 201, put.text
    kept = put.json()
    assert (kept["kind"], kept["status"], kept["sha256"]) == (
        "uploaded",
        "completed",
        taken["sha256"],
    )
    again = await client.put(f"/v1/instances/u2/backups/{NAME}", content=archive)
    assert (again.status_code, again.json()["code"]) == (409, "BACKUP_EXISTS")
    restored = await client.post(f"/v1/instances/u2/backups/{NAME}/restore")
    assert restored.status_code == 200, restored.text
    moved = context.home.path / "instances" / "u2" / "data" / "save.dat"
    assert moved.read_bytes() == b"progress " * 1000


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_a_hostile_upload_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, context: Context, tmp_path: Path, case: str
) -> None:
    await two(client, context)
    members, manifest, said = HOSTILE[case]
    if manifest is not None:
        manifest = dataclasses.replace(manifest, app="default")  # the instances' app
    evil = crafted(tmp_path / "evil.tar.zst", members, manifest)
    put = await client.put(f"/v1/instances/u2/backups/{NAME}", content=evil.read_bytes())
    assert (put.status_code, put.json()["code"]) == (400, "ARCHIVE_REFUSED"), put.text
    assert said.strip("'") in put.json()["error"] or said in put.json()["error"]
    assert (await client.get("/v1/instances/u2/backups")).json()["backups"] == []
    assert nothing_kept(context)


async def test_foreign_broken_and_oversized_uploads_are_refused(
    client: httpx.AsyncClient, context: Context, tmp_path: Path
) -> None:
    await two(client, context)
    other_app = crafted(tmp_path / "other.tar.zst", [], Manifest("x", "game", "1", "0.1", "t", {}))
    for body, code in (
        (other_app.read_bytes(), "ARCHIVE_REFUSED"),
        (b"not an archive at all", "ARCHIVE_REFUSED"),
        (b"", "ARCHIVE_REFUSED"),
    ):
        put = await client.put(f"/v1/instances/u2/backups/{NAME}", content=body)
        assert (put.status_code, put.json()["code"]) == (400, code)
        assert nothing_kept(context)
    bad = await client.put("/v1/instances/u2/backups/latest", content=b"x")
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_BACKUP_NAME")
    context.settings = dataclasses.replace(context.settings, max_upload_bytes=1000)
    big = await client.put(f"/v1/instances/u2/backups/{NAME}", content=b"x" * 5000)
    assert (big.status_code, big.json()["code"]) == (413, "BODY_TOO_LARGE")
    assert nothing_kept(context)
