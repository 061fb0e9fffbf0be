"""The file side of a restore: an archive unpacked beside the instance's directory, then
swapped in by renames, with the old directory kept until the restore is done so that it
can be put back.

    unpacked = Unpacked.beside(home, instance_id, archive)   # checked as it is written
    unpacked.swap()      # the backup's files in place, the old ones set aside
    unpacked.undo()      # (only if what follows fails) the old ones back
    unpacked.finish()    # the set-aside and the staging folder removed
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from roost.archive import scan_archive
from roost.domain.backups import CACHE_DUMP, FILES, SEALED, Manifest
from roost.instance_dir import instances_root


class Unpacked:
    def __init__(
        self, current: Path, staging: Path, old: Path, cache_dump: bytes | None, sealed: bytes
    ) -> None:
        self._current = current
        self._staging = staging
        self._old = old
        self._moved = False
        self._swapped = False
        self.cache_dump = cache_dump  # None: the backup holds no cache dump
        self.sealed = sealed  # the secrets and key pair as the backup holds them (JSON)

    @classmethod
    def beside(
        cls, home: Path, instance_id: str, archive: Path, *, unpack_in: Path | None = None
    ) -> Unpacked:
        """Unpack ``archive`` beside the instance's directory (or in ``unpack_in``);
        nothing is left behind if that fails."""

        def from_archive(staging: Path) -> Manifest:
            with open(archive, "rb") as source:
                return scan_archive(source, into=staging).manifest

        return cls.filled(home, instance_id, from_archive, unpack_in=unpack_in)

    @classmethod
    def filled(
        cls,
        home: Path,
        instance_id: str,
        fill: Callable[[Path], Manifest],
        *,
        unpack_in: Path | None = None,
    ) -> Unpacked:
        """A staging folder beside the instance's directory that ``fill`` puts a
        checked backup in (``files/`` and the parts beside it), returning its manifest."""
        root = instances_root(home)
        token = secrets.token_hex(4)
        staging = (unpack_in or root) / f".{instance_id}.restore-{token}"
        staging.mkdir(mode=0o700)
        try:
            manifest = fill(staging)
            (staging / FILES.rstrip("/")).mkdir(mode=0o700, exist_ok=True)
            dump = staging / CACHE_DUMP
            cache_dump = dump.read_bytes() if manifest.cache and dump.exists() else None
            sealed = staging / SEALED
            sealed_json = sealed.read_bytes() if sealed.exists() else b"{}"
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        old = root / f".{instance_id}.old-{token}"
        return cls(root / instance_id, staging, old, cache_dump, sealed_json)

    def swap(self) -> None:
        """Rename the unpacked files into place; if that fails, the old ones are back."""
        if self._current.exists():
            os.rename(self._current, self._old)
            self._moved = True
        try:
            os.rename(self._staging / FILES.rstrip("/"), self._current)
        except OSError:
            self.undo()
            raise
        self._swapped = True

    def undo(self) -> None:
        """Put the old directory back where it was."""
        if self._swapped:
            os.rename(self._current, self._staging / "undone")
            self._swapped = False
        if self._moved:
            os.rename(self._old, self._current)
            self._moved = False

    def finish(self) -> None:
        shutil.rmtree(self._old, ignore_errors=True)
        shutil.rmtree(self._staging, ignore_errors=True)


def swap_in(home: Path, instance_id: str, archive: Path, *, unpack_in: Path | None = None) -> None:
    """Unpack ``archive`` and swap it in, at once (the old files removed when done)."""
    unpacked = Unpacked.beside(home, instance_id, archive, unpack_in=unpack_in)
    try:
        unpacked.swap()
    finally:
        with contextlib.suppress(OSError):
            unpacked.finish()
