"""The instance directory, ``<home>/instances/<id>/``: its paths and the writes to it.

Its layout (``domain/layout.py``): ``roost.env`` and ``env/<service>.env`` (the
environment, without secrets), the app's rendered files, ``instance.json`` (enough to
rebuild the registry entry), ``data/`` (the instance's own state) and
``logs/<service>.log``. No other module builds these paths. Files are written
whole or not at all (temporary file, fsync, rename), so a crash never leaves one
half-written; a file that holds a secret is created with mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from roost.confined import Confined
from roost.domain.errors import no_room, out_of_space
from roost.domain.layout import DATA, LOGS, RECORD, SUBDIRS, log_file
from roost.home import INSTANCES


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the instance directory
    content: str
    secret: bool = False  # uses a secret: mode 0600


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


def instances_root(home: Path) -> Path:
    """The folder that holds every instance directory of the home."""
    return home / INSTANCES


def instance_dirs(home: Path) -> list[InstanceDir]:
    """Every instance directory of the home, by id."""
    root = instances_root(home)
    if not root.is_dir():
        return []
    return [InstanceDir(home, entry.name) for entry in sorted(root.iterdir()) if entry.is_dir()]


class InstanceDir:
    def __init__(self, home: Path, instance_id: str) -> None:
        self.instance_id = instance_id
        self.path = instances_root(home) / instance_id

    @property
    def data(self) -> Path:
        return self.path / DATA

    @property
    def record(self) -> Path:
        return self.path / RECORD

    def log(self, service: str) -> Path:
        return self.path / log_file(service)

    def log_files(self) -> list[Path]:
        """Every service log (not the rotated copies), by name."""
        return sorted((self.path / LOGS).glob("*.log"))

    def ensure(self) -> None:
        """The directory (mode 0700: its files may hold secrets) and its folders."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.stat().st_mode & 0o077:
            self.path.chmod(0o700)
        for name in SUBDIRS:
            (self.path / name).mkdir(exist_ok=True)

    def write(self, files: Iterable[RenderedFile]) -> list[str]:
        """Write the files that differ from what is on disk; the paths written. No write
        follows a link: a link planted on a file's way is refused (400 ``UNSAFE_PATH``),
        one in its place is replaced by the file."""
        written = []
        try:
            self.ensure()
            with Confined(self.path) as directory:
                for file in files:
                    mode = 0o600 if file.secret else 0o644
                    content = file.content.encode()
                    if directory.read(file.path) != (content, mode):
                        directory.write(file.path, content, mode=mode)
                        written.append(file.path)
        except OSError as exc:
            if out_of_space(exc):
                raise no_room(f"the files of instance {self.instance_id!r}", exc) from None
            raise
        return written

    def copy_data_to(self, other: InstanceDir) -> None:
        """Copy ``data/`` into ``other``'s (symlinks as symlinks); nothing when there is none."""
        if self.data.is_dir():
            shutil.copytree(self.data, other.data, symlinks=True, dirs_exist_ok=True)

    def remove_files(self, paths: Iterable[str]) -> None:
        """Remove these files (relative paths) where they exist, never through a link."""
        if not self.path.is_dir():
            return
        with Confined(self.path) as directory:
            for path in paths:
                directory.unlink(path)

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
