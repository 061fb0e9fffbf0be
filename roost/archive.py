"""Backup archives: a tar stream compressed with zstd, written and read in one pass
each, never whole in memory (the thin OS layer under ``domain/backups.py``).

:func:`write_archive` puts an instance directory's files under ``files/``, then the
extra members it is given (the cache dump, the sealed secrets), then the manifest with
every file's size and sha256 as read. :func:`scan_archive` reads one back: each entry is
checked before its content is read (no absolute paths, no ``..``, no links out, no hard
links, devices or fifos), every file is hashed, and the whole is compared with the
manifest at the end; with ``into``, what passed is written below that folder. A caller
that must touch nothing before it knows an archive is sound scans it twice: once to
verify, once to extract.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, BinaryIO, cast

import zstandard

from roost.domain.backups import (
    FILES,
    MANIFEST,
    MAX_ENTRIES,
    MAX_MANIFEST_BYTES,
    ArchiveRefused,
    Entry,
    FileEntry,
    Manifest,
    entry_problem,
    mismatches,
)
from roost.file_writer import FileWriter

CHUNK = 1024 * 1024
LEVEL = 3  # zstd's own default: about tar --zstd's speed and size
# compression in a thread of zstd's own while this one reads and hashes the files, as
# tar and its zstd process run side by side (1 GiB: 0.41x of tar without, 0.52-0.58x with)
THREADS = 1
Progress = Callable[[int], None]  # bytes read so far from the instance's files


class FileChanged(OSError):
    """A file shrank while it was read (a service wrote it during the backup)."""


@dataclass
class Counted:
    """What went through a stream: its bytes and their sha256."""

    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


class _CountingWriter(io.RawIOBase):
    def __init__(self, out: BinaryIO, counted: Counted) -> None:
        self._out = out
        self._counted = counted

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._counted.size += len(data)
        self._counted.digest.update(data)
        return self._out.write(data)


class _HashingReader(io.RawIOBase):
    """Reads ``source`` as far as it is asked, counting and hashing what it hands over
    (a file tar reads, or the archive zstd reads)."""

    def __init__(
        self, source: BinaryIO, counted: Counted, progress: Progress | None = None
    ) -> None:
        self._source = source
        self._counted = counted
        self._progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._counted.size += len(data)
        self._counted.digest.update(data)
        if self._progress is not None:
            self._progress(len(data))
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def walk(folder: Path, include: Callable[[str], bool]) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of what ``include`` takes below ``folder``, sorted,
    folders before what they hold; links not followed."""
    pending = [""] if folder.is_dir() else []  # a bare instance may have no folder
    while pending:
        relative = pending.pop()
        with os.scandir(folder / relative if relative else folder) as entries:
            found = sorted(entries, key=lambda e: e.name)
        for entry in found:
            path = f"{relative}/{entry.name}" if relative else entry.name
            if not include(path):
                continue
            info = entry.stat(follow_symlinks=False)
            yield path, info
            if stat.S_ISDIR(info.st_mode):
                pending.append(path)


def write_archive(
    out: BinaryIO,
    folder: Path,
    manifest: Manifest,
    *,
    include: Callable[[str], bool] = lambda path: True,
    extras: Mapping[str, bytes] | None = None,
    progress: Progress | None = None,
) -> tuple[Manifest, Counted]:
    """Write ``folder`` (what ``include`` takes), ``extras`` and ``manifest`` with the
    files it read; the manifest written, and the archive's own size and sha256. Files
    that are neither regular, folders nor links inside are left out."""
    counted = Counted()
    files: list[FileEntry] = []
    compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True, threads=THREADS)
    with (
        compressor.stream_writer(
            cast(IO[bytes], _CountingWriter(out, counted)), closefd=False
        ) as packed,
        # "w", not the stream mode "w|": tar's stream buffer copies every byte twice more
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.copybufsize = CHUNK  # type: ignore[attr-defined]  # (tar's own: 16 KiB a step)
        for path, info in walk(folder, include):
            member = tarfile.TarInfo(FILES + path)
            member.mode, member.mtime = info.st_mode & 0o777, int(info.st_mtime)
            if stat.S_ISDIR(info.st_mode):
                member.type = tarfile.DIRTYPE
                tar.addfile(member)
            elif stat.S_ISLNK(info.st_mode):
                member.type, member.linkname = tarfile.SYMTYPE, os.readlink(folder / path)
                if entry_problem(Entry(member.name, "symlink", 0, member.linkname)) is None:
                    tar.addfile(member)
            elif stat.S_ISREG(info.st_mode):
                member.size = info.st_size
                read = Counted()
                with open(folder / path, "rb", buffering=0) as source:
                    try:
                        tar.addfile(member, _HashingReader(source, read, progress))
                    except OSError as exc:  # tar's "unexpected end of data"
                        raise FileChanged(f"{path} changed while it was read: {exc}") from None
                files.append(FileEntry(path, read.size, read.sha256, member.mode))
        for name, data in (extras or {}).items():
            _add_bytes(tar, name, data)
        manifest = replace(manifest, files=tuple(files))
        _add_bytes(tar, MANIFEST, json.dumps(manifest.to_json(), separators=(",", ":")).encode())
    return manifest, counted


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size, member.mode = len(data), 0o600
    tar.addfile(member, io.BytesIO(data))


_KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "device",
    tarfile.BLKTYPE: "device",
    tarfile.FIFOTYPE: "fifo",
}


@dataclass
class Scanned:
    manifest: Manifest
    size: int  # of the archive as read
    sha256: str
    extras: dict[str, tuple[int, str]]  # cache dump, sealed: (size, sha256)


def scan_archive(
    source: BinaryIO, *, into: Path | None = None, progress: Progress | None = None
) -> Scanned:
    """Read an archive through, checking every entry and the whole against its
    manifest; with ``into`` (an empty folder), write what it holds there. Raises
    ArchiveRefused with the first problem found."""
    counted = Counted()
    seen: dict[str, tuple[int, str]] = {}
    extras: dict[str, tuple[int, str]] = {}
    manifest: Manifest | None = None
    links: set[str] = set()  # nothing is written through a link the archive made
    entries = 0
    reader = zstandard.ZstdDecompressor().stream_reader(
        cast(IO[bytes], _HashingReader(source, counted))
    )
    writer = FileWriter() if into is not None else None  # creating files: beside this
    try:
        try:
            with tarfile.open(fileobj=reader, mode="r:") as tar:
                for member in tar:
                    entries += 1
                    if entries > MAX_ENTRIES:
                        raise ArchiveRefused(f"more than {MAX_ENTRIES} entries")
                    entry = Entry(
                        member.name, _KINDS.get(member.type, "other"), member.size, member.linkname
                    )
                    problem = entry_problem(entry)
                    if problem is not None:
                        raise ArchiveRefused(f"refused: {problem}")
                    if manifest is not None:
                        raise ArchiveRefused(f"refused: {member.name!r} comes after the manifest")
                    parents = member.name.rstrip("/").split("/")[:-1]
                    if any("/".join(parents[: n + 1]) in links for n in range(len(parents))):
                        raise ArchiveRefused(f"refused: {member.name!r} is below a link")
                    if entry.kind == "dir":
                        if into is not None:
                            (into / member.name).mkdir(parents=True, exist_ok=True)
                        continue
                    if entry.kind == "symlink":
                        links.add(member.name.rstrip("/"))
                        if into is not None:
                            target = into / member.name
                            target.parent.mkdir(parents=True, exist_ok=True)
                            os.symlink(member.linkname, target)
                        continue
                    fileobj = tar.extractfile(member)
                    assert fileobj is not None
                    if member.name == MANIFEST:
                        if member.size > MAX_MANIFEST_BYTES:
                            raise ArchiveRefused("its manifest is too large")
                        try:
                            manifest = Manifest.from_json(json.loads(fileobj.read()))
                        except ValueError as exc:
                            raise ArchiveRefused(f"its manifest is not JSON: {exc}") from None
                        continue
                    copy_to = into / member.name if into else None
                    read = _copy(fileobj, copy_to, member.mode, progress, writer)
                    if member.name.startswith(FILES):
                        seen[member.name[len(FILES) :]] = (read.size, read.sha256)
                    else:
                        extras[member.name] = (read.size, read.sha256)
                # the rest of the stream: the zstd frame's end, checked too
                while reader.read(CHUNK):
                    pass
        except (tarfile.TarError, zstandard.ZstdError, EOFError) as exc:
            raise ArchiveRefused(f"damaged: {exc}") from None
    finally:
        if writer is not None:
            if sys.exc_info()[0] is None:
                writer.finish()
            else:  # the error under way says more
                with contextlib.suppress(OSError):
                    writer.finish()
    if manifest is None:
        raise ArchiveRefused("it has no manifest")
    problems = mismatches(manifest, seen, extras)
    if problems:
        raise ArchiveRefused(
            f"it does not match its manifest: {problems[0]}", problems=problems[:20]
        )
    return Scanned(manifest, counted.size, counted.sha256, extras)


def _copy(
    source: IO[bytes],
    target: Path | None,
    mode: int,
    progress: Progress | None,
    writer: FileWriter | None,
) -> Counted:
    read = Counted()
    if target is not None and writer is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        writer.open(target, (mode & 0o777) or 0o600)
    try:
        while chunk := source.read(CHUNK):
            read.size += len(chunk)
            read.digest.update(chunk)
            if writer is not None:
                writer.write(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        if writer is not None:
            writer.close_file()
    return read
