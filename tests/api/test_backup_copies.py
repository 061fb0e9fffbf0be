"""Archives copied off the host to a real S3-compatible server (moto in server mode):
uploaded and checked, fetched back when the local file is gone, a damaged copy refused,
an unreachable bucket a failed backup, and pruning removing the copy too."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from roost.s3_copies import PART, expected_etag
from roost.services.context import Context
from roost.settings import Settings
from tests.api.test_backups import backed_up
from tests.conftest import api_client, opened_context
from tests.servers import free_port, s3_server

pytestmark = pytest.mark.slow
BUCKET = "roost-backups"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    with s3_server() as url:
        yield url


@pytest.fixture
def bucket(s3: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3, region_name="us-east-1")
    name = f"{BUCKET}-{os.getpid()}-{abs(hash(request.node.nodeid)) % 10**8}"
    client.create_bucket(Bucket=name)
    client.roost_bucket = name
    return client


@pytest.fixture
async def copied(settings: Settings, s3: str, bucket: Any) -> AsyncIterator[Context]:
    offsite = replace(
        settings, backup_s3=f"s3://{bucket.roost_bucket}/site-a", backup_s3_endpoint=s3
    )
    async with opened_context(offsite) as ctx:
        yield ctx


@pytest.fixture
async def http(copied: Context) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(copied) as client:
        yield client


async def instance_with_data(http: httpx.AsyncClient, context: Context, size: int) -> Path:
    assert (await http.post("/v1/instances", json={"instance_id": "s1"})).status_code == 201
    data = context.home.path / "instances" / "s1" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "world.dat").write_bytes(os.urandom(size))
    return data


def objects(bucket: Any) -> dict[str, int]:
    listed = bucket.list_objects_v2(Bucket=bucket.roost_bucket).get("Contents", [])
    return {o["Key"]: o["Size"] for o in listed}


async def test_an_archive_is_copied_and_fetched_back_when_the_local_file_is_gone(
    http: httpx.AsyncClient, copied: Context, bucket: Any
) -> None:
    data = await instance_with_data(http, copied, 300_000)
    saved = await backed_up(http, "s1")
    assert saved["status"] == "completed", saved
    key = f"site-a/s1/{saved['name']}.tar.zst"
    assert saved["location"] == f"s3://{bucket.roost_bucket}/{key}"
    assert objects(bucket) == {key: saved["size"]}
    local = copied.home.path / "backups" / "s1" / f"{saved['name']}.tar.zst"
    local.unlink()  # the disk is lost
    (data / "world.dat").write_bytes(b"changed since")
    restored = await http.post(f"/v1/instances/s1/backups/{saved['name']}/restore", timeout=60)
    assert restored.status_code == 200, restored.text
    assert len((data / "world.dat").read_bytes()) == 300_000
    assert local.is_file()
    assert (await http.delete(f"/v1/instances/s1/backups/{saved['name']}")).status_code == 204
    assert key not in objects(bucket) and not local.exists()


async def test_a_damaged_copy_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, copied: Context, bucket: Any
) -> None:
    data = await instance_with_data(http, copied, 10_000)
    saved = await backed_up(http, "s1")
    key = f"site-a/s1/{saved['name']}.tar.zst"
    body = bytearray(bucket.get_object(Bucket=bucket.roost_bucket, Key=key)["Body"].read())
    body[100] ^= 0xFF
    bucket.put_object(Bucket=bucket.roost_bucket, Key=key, Body=bytes(body))
    (copied.home.path / "backups" / "s1" / f"{saved['name']}.tar.zst").unlink()
    (data / "world.dat").write_bytes(b"current")
    refused = await http.post(f"/v1/instances/s1/backups/{saved['name']}/verify")
    assert (refused.status_code, refused.json()["code"]) == (409, "BACKUP_CORRUPT")
    assert "is not the archive recorded" in refused.json()["error"]
    assert (data / "world.dat").read_bytes() == b"current"
    assert not list((copied.home.path / "backups" / "s1").iterdir())  # nothing half-fetched


async def test_an_unreachable_bucket_fails_the_backup_and_keeps_nothing(
    settings: Settings, bucket: Any
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    offsite = replace(settings, backup_s3="s3://gone/x", backup_s3_endpoint=nowhere)
    async with opened_context(offsite) as ctx, api_client(ctx) as client:
        await instance_with_data(client, ctx, 1000)
        failed = await backed_up(client, "s1")
        assert failed["status"] == "failed"
        assert failed["error"].startswith("the copy to s3://gone/x/s1/")
        assert failed["location"] is None
        assert list((ctx.home.path / "backups" / "s1").iterdir()) == []


async def test_pruning_removes_the_copy_too(
    http: httpx.AsyncClient, copied: Context, bucket: Any
) -> None:
    from roost.auth import LOCAL_ACTOR
    from roost.domain.backup_schedule import Schedule
    from roost.domain.retention import KeepPolicy
    from roost.registry import instances as q
    from roost.services.backup_schedules import prune

    await instance_with_data(http, copied, 1000)
    first = await backed_up(http, "s1")
    second = await backed_up(http, "s1")
    assert len(objects(bucket)) == 2
    instance = await copied.registry.read(q.get_instance, "s1")
    assert instance is not None
    pruned = await prune(
        copied, LOCAL_ACTOR, instance, Schedule(keep=KeepPolicy(last=1), rotate_manual=True)
    )
    assert pruned == [first["name"]]
    assert list(objects(bucket)) == [f"site-a/s1/{second['name']}.tar.zst"]


def test_the_expected_etag_is_the_one_s3_gives(tmp_path: Path, bucket: Any) -> None:
    """Single and multipart uploads: the ETag computed here is the server's."""
    from roost.s3_copies import TRANSFER

    for size in (0, 1000, PART, PART + 1):
        path = tmp_path / f"f{size}"
        with open(path, "wb") as out:
            out.truncate(size)
        key = f"etag/{size}"
        bucket.upload_file(str(path), bucket.roost_bucket, key, Config=TRANSFER)
        head = bucket.head_object(Bucket=bucket.roost_bucket, Key=key)
        assert head["ETag"].strip('"') == expected_etag(path), size
