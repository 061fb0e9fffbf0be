"""Backups (pure): their names, the manifest an archive carries, and the rules an
archive's entries must follow before anything of it is extracted.

An archive is a tar stream: the instance's files under ``files/``, the cache namespace
as ``cache.ndjson``, the sealed secrets and key as ``sealed.json``, and last
``manifest.json``, which lists every file with its size and sha256. The manifest comes
last so a backup is written in one pass; a reader checks each entry as it comes
(:func:`entry_problem`) and the whole against the manifest at the end
(:func:`mismatches`).
"""

from __future__ import annotations

import posixpath
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from roost.domain.errors import InvalidInput

FORMAT = 1
MANIFEST = "manifest.json"
CACHE_DUMP = "cache.ndjson"
SEALED = "sealed.json"
FILES = "files/"
Target = Literal["archive", "restic"]  # where a backup is kept
TARGETS: tuple[str, ...] = get_args(Target)
KINDS = ("manual", "scheduled", "pre-restore", "pre-delete", "uploaded")
NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z-[a-z-]{1,16}-[0-9a-f]{6}")
MAX_ENTRIES = 1_000_000
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


def backup_name(at: datetime, kind: str) -> str:
    """``20261130T130901Z-manual-1a2b3c``: sorts as the backups were taken."""
    return f"{at.strftime('%Y%m%dT%H%M%SZ')}-{kind}-{secrets.token_hex(3)}"


def check_backup_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid backup name {name!r}: like 20261130T130901Z-manual-1a2b3c",
            code="INVALID_BACKUP_NAME",
        )
    return name


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the instance directory, '/'-separated
    size: int
    sha256: str
    mode: int = 0o644


@dataclass(frozen=True)
class Manifest:
    instance_id: str
    app: str
    version: str
    roost_version: str
    created_at: str  # RFC 3339
    instance: Mapping[str, Any]  # the record: name, tags, config overrides, ports, ...
    files: tuple[FileEntry, ...] = ()
    cache: Mapping[str, Any] = field(default_factory=dict)  # keys, bytes, sha256 of the dump
    sealed: bool = False  # secrets and the key pair, encrypted with the home's key

    def to_json(self) -> dict[str, Any]:
        return {
            "roost_backup": FORMAT,
            "instance_id": self.instance_id,
            "app": self.app,
            "version": self.version,
            "roost_version": self.roost_version,
            "created_at": self.created_at,
            "instance": dict(self.instance),
            "files": [[f.path, f.size, f.sha256, f.mode] for f in self.files],
            "cache": dict(self.cache),
            "sealed": self.sealed,
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        try:
            if data["roost_backup"] != FORMAT:
                raise ValueError(f"format {data['roost_backup']!r}")
            files = tuple(FileEntry(str(p), int(s), str(h), int(m)) for p, s, h, m in data["files"])
            return cls(
                instance_id=str(data["instance_id"]),
                app=str(data["app"]),
                version=str(data["version"]),
                roost_version=str(data["roost_version"]),
                created_at=str(data["created_at"]),
                instance=dict(data["instance"]),
                files=files,
                cache=dict(data["cache"]),
                sealed=bool(data["sealed"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveRefused(f"its manifest is not a roost backup's: {exc}") from None


class ArchiveRefused(InvalidInput):
    """An archive that is damaged, hostile or not a backup of this instance."""

    code = "ARCHIVE_REFUSED"


@dataclass(frozen=True)
class Entry:
    """A tar member as a reader sees it, before its content is read."""

    name: str
    kind: str  # file, dir, symlink, hardlink, device, fifo, other
    size: int
    target: str = ""  # a link's target


def entry_problem(entry: Entry) -> str | None:
    """Why this entry may not be extracted (None: it may)."""
    name = entry.name
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        return f"{name!r}: not a relative path"
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"{name!r}: a path with '.', '..' or an empty part"
    if entry.kind in ("hardlink", "device", "fifo", "other"):
        return f"{name!r}: a {entry.kind} (only files, folders and links inside are taken)"
    top = parts[0] + ("/" if len(parts) > 1 or entry.kind == "dir" else "")
    if top != FILES and name not in (MANIFEST, CACHE_DUMP, SEALED):
        return f"{name!r}: not a part of a backup"
    if name in (MANIFEST, CACHE_DUMP, SEALED) and entry.kind != "file":
        return f"{name!r}: must be a file"
    if entry.kind == "symlink":
        target = entry.target
        if not target or target.startswith("/"):
            return f"{name!r}: a link to {target!r}, outside the instance"
        inside = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if not inside.startswith(FILES) or ".." in inside.split("/"):
            return f"{name!r}: a link to {target!r}, outside the instance"
    return None


def mismatches(
    manifest: Manifest,
    seen: Mapping[str, tuple[int, str]],
    extras: Mapping[str, tuple[int, str]] | None = None,
) -> list[str]:
    """How the files read (``seen``: path → (size, sha256)) differ from what the
    manifest lists: missing, unlisted, another size or another content; and the cache
    dump (in ``extras``) from the size and sha256 the manifest gives it."""
    listed = {f.path: f for f in manifest.files}
    problems = []
    if manifest.cache:
        dump = (extras or {}).get(CACHE_DUMP)
        if dump is None:
            problems.append("the cache dump is in the manifest but not in the archive")
        elif dump != (manifest.cache.get("size"), manifest.cache.get("sha256")):
            problems.append("the cache dump does not match its size and sha256 in the manifest")
    for path in sorted(seen.keys() - listed.keys()):
        problems.append(f"{path!r} is not in the manifest")
    for path in sorted(listed.keys() - seen.keys()):
        problems.append(f"{path!r} is in the manifest but not in the archive")
    for path in sorted(listed.keys() & seen.keys()):
        size, digest = seen[path]
        if size != listed[path].size:
            problems.append(f"{path!r} is {size} bytes, the manifest says {listed[path].size}")
        elif digest != listed[path].sha256:
            problems.append(f"{path!r} does not match its sha256 in the manifest")
    return problems


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # '' or ending in '/'

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise InvalidInput(
                f"an S3 location is s3://BUCKET[/PREFIX], not {url!r}", code="INVALID_SETTING"
            )
        prefix = parts.path.strip("/")
        return cls(parts.netloc, f"{prefix}/" if prefix else "")

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass
class Transfer:
    """How far a backup under way is: bytes of the instance's files read of ``total``
    (0: not known)."""

    done: int = 0
    total: int = 0

    def add(self, count: int) -> None:
        self.done += count
