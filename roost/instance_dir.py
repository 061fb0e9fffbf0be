"""The instance directory on disk: ``<home>/instances/<id>/`` (the thin OS layer).

Files are written whole or not at all (temporary file, fsync, rename), so a crash never
leaves one half-written; a file that holds a secret is created with mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from roost.files import SUBDIRS, RenderedFile, check_relative


def write_atomic(path: Path, content: str, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class InstanceDir:
    def __init__(self, home: Path, instance_id: str) -> None:
        self.path = home / "instances" / instance_id

    def ensure(self) -> None:
        for name in SUBDIRS:
            (self.path / name).mkdir(parents=True, exist_ok=True)

    def write(self, files: Iterable[RenderedFile]) -> list[str]:
        """Write the files that differ from what is on disk; the paths written."""
        self.ensure()
        written = []
        for file in files:
            check_relative(file.path)
            target = self.path / file.path
            mode = 0o600 if file.secret else 0o644
            try:
                same = (
                    target.read_text() == file.content and (target.stat().st_mode & 0o777) == mode
                )
            except OSError:
                same = False
            if not same:
                write_atomic(target, file.content, mode=mode)
                written.append(file.path)
        return written

    def clean(self, keep: Iterable[str] = ()) -> None:
        """Remove rendered files, logs and data (seed 004's clean); keep the directory."""
        kept = set(keep)
        if not self.path.exists():
            return
        for entry in self.path.iterdir():
            if entry.name in kept:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
