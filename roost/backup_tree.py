"""A backup as a folder rather than a tar stream (the ``restic`` target's form): the
instance's files under ``files/``, beside them ``manifest.json``, ``cache.ndjson`` and
``sealed.json``.

:func:`list_files` makes the manifest's file list of an instance directory, reading
only files that changed since the last list (by size, mtime, inode), as restic reads
only changed files. :func:`check_tree` holds a restored folder to the same rules as an
archive: no links out, no devices or fifos, nothing unknown, every file as the manifest
lists it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from roost.archive import CHUNK, walk
from roost.domain.backups import (
    CACHE_DUMP,
    FILES,
    MANIFEST,
    SEALED,
    ArchiveRefused,
    Entry,
    FileEntry,
    Manifest,
    entry_problem,
    mismatches,
)

Known = dict[str, list[int | str]]  # path -> [size, mtime_ns, inode, sha256]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(
    folder: Path, include: Callable[[str], bool], known_at: Path
) -> tuple[FileEntry, ...]:
    """Every regular file of ``folder`` that ``include`` takes, with its sha256; the
    hashes are remembered in ``known_at`` and reused while a file's size, mtime and
    inode stay the same."""
    try:
        known: Known = json.loads(known_at.read_text())
    except (OSError, ValueError):
        known = {}
    seen: Known = {}
    files = []
    for path, info in walk(folder, include):
        if not stat.S_ISREG(info.st_mode):
            continue
        key = [info.st_size, info.st_mtime_ns, info.st_ino]
        earlier = known.get(path)
        if earlier is not None and earlier[:3] == key:
            digest = str(earlier[3])
        else:
            digest = file_sha256(folder / path)
        seen[path] = [*key, digest]
        files.append(FileEntry(path, info.st_size, digest, info.st_mode & 0o777))
    known_at.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = known_at.with_name(known_at.name + ".tmp")
    temporary.write_text(json.dumps(seen))
    os.replace(temporary, known_at)
    return tuple(files)


def check_tree(root: Path) -> Manifest:
    """The manifest of the backup unpacked in ``root``, once everything in it passed;
    ArchiveRefused with the first problem otherwise."""
    for entry in os.scandir(root):
        if entry.name.rstrip("/") + ("/" if entry.is_dir() else "") not in (
            FILES,
            MANIFEST,
            CACHE_DUMP,
            SEALED,
        ):
            raise ArchiveRefused(f"refused: {entry.name!r}: not a part of a backup")
    try:
        manifest = Manifest.from_json(json.loads((root / MANIFEST).read_bytes()))
    except FileNotFoundError:
        raise ArchiveRefused("it has no manifest") from None
    except ValueError as exc:
        raise ArchiveRefused(f"its manifest is not JSON: {exc}") from None
    seen: dict[str, tuple[int, str]] = {}
    files = root / FILES.rstrip("/")
    for path, info in walk(files, lambda path: True):
        name = FILES + path
        if stat.S_ISLNK(info.st_mode):
            problem = entry_problem(Entry(name, "symlink", 0, os.readlink(files / path)))
        elif stat.S_ISDIR(info.st_mode):
            problem = None
        elif stat.S_ISREG(info.st_mode):
            problem = None
            seen[path] = (info.st_size, file_sha256(files / path))
        else:
            problem = f"{name!r}: neither a file, a folder nor a link"
        if problem is not None:
            raise ArchiveRefused(f"refused: {problem}")
    extras = {}
    dump = root / CACHE_DUMP
    if dump.exists():
        extras[CACHE_DUMP] = (dump.stat().st_size, file_sha256(dump))
    problems = mismatches(manifest, seen, extras)
    if problems:
        raise ArchiveRefused(
            f"it does not match its manifest: {problems[0]}", problems=problems[:20]
        )
    return manifest
