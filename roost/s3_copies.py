"""Copies of backup archives in an S3-compatible bucket (the thin layer over boto3).

An archive is uploaded once it is written, then checked: the object's size must be the
file's, and its ETag the one S3 computes from the bytes it received (the MD5 of the
file, or of its parts' MD5s for a multipart upload, with the part size used here).
Calls block: the services run them in a thread.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from roost.domain.backups import S3Location

PART = 64 * 1024 * 1024  # multipart threshold and part size
TRANSFER = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
READ = 1024 * 1024


class CopyMismatch(OSError):
    """The object in the bucket is not the file that was sent."""


def expected_etag(path: Path, part: int = PART) -> str:
    """The ETag S3 gives ``path`` uploaded with parts of ``part`` bytes."""
    digests = []
    whole = hashlib.md5(usedforsecurity=False)
    size = 0
    with open(path, "rb") as source:
        while True:
            piece = hashlib.md5(usedforsecurity=False)
            taken = 0
            while taken < part and (chunk := source.read(min(READ, part - taken))):
                piece.update(chunk)
                whole.update(chunk)
                taken += len(chunk)
            if not taken:
                break
            size += taken
            digests.append(piece.digest())
    if size < part:  # a single PUT
        return whole.hexdigest()
    combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{combined}-{len(digests)}"


class S3Copies:
    def __init__(self, url: str, *, endpoint: str | None = None, region: str | None = None):
        self.location = S3Location.parse(url)
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=120,
            ),
        )

    def key(self, instance_id: str, name: str, suffix: str) -> str:
        return f"{self.location.prefix}{instance_id}/{name}{suffix}"

    def upload(self, path: Path, key: str) -> str:
        """Upload ``path`` as ``key`` and check what arrived; its ``s3://`` URL."""
        bucket = self.location.bucket
        self._client.upload_file(str(path), bucket, key, Config=TRANSFER)
        head = self._client.head_object(Bucket=bucket, Key=key)
        size = path.stat().st_size
        if head["ContentLength"] != size:
            raise CopyMismatch(f"the copy is {head['ContentLength']} bytes, the archive {size}")
        if head["ETag"].strip('"') != expected_etag(path):
            raise CopyMismatch("the copy's checksum (ETag) is not the archive's")
        return self.location.url(key)

    def download(self, url: str, target: Path) -> None:
        bucket, key = self._split(url)
        self._client.download_file(bucket, key, str(target), Config=TRANSFER)

    def delete(self, url: str) -> None:
        bucket, key = self._split(url)
        self._client.delete_object(Bucket=bucket, Key=key)

    def _split(self, url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return parts.netloc, parts.path.lstrip("/")
