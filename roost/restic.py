"""A restic repository driven through restic's command line (the thin layer under the
``restic`` backup target). Calls block: the services run them in a thread.

The repository is a local path or anything restic takes (``s3:http://host/bucket``,
``sftp:...``); its password is read from a file. ``--json`` output is parsed where the
command gives it; a command that fails raises :class:`ResticFailed` with the last words
restic wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.domain.errors import RoostError

PASSED_ON = ("PATH", "HOME", "TMPDIR", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
PASSED_ON_PREFIXES = ("AWS_", "RESTIC_", "B2_", "AZURE_", "GOOGLE_")
TIMEOUT_S = 6 * 3600.0


class ResticFailed(RoostError):
    status = 502
    code = "RESTIC_FAILED"


@dataclass(frozen=True)
class BackupSummary:
    snapshot_id: str
    bytes_processed: int
    data_added: int  # what the repository grew by (after deduplication, compressed)
    files_new: int
    files_changed: int
    files_unmodified: int


class Restic:
    def __init__(self, repository: str, password_file: Path, cache_dir: Path) -> None:
        self.repository = repository
        self._password_file = password_file
        self._cache_dir = cache_dir
        self._ready = False

    def _env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key in PASSED_ON or key.startswith(PASSED_ON_PREFIXES)
        }
        env.pop("RESTIC_PASSWORD", None)  # the file below is the password
        env.update(
            RESTIC_REPOSITORY=self.repository,
            RESTIC_PASSWORD_FILE=str(self._password_file),
            RESTIC_CACHE_DIR=str(self._cache_dir),
            RESTIC_PROGRESS_FPS="0.2",
        )
        return env

    def run(self, *args: str, cwd: Path | None = None) -> str:
        binary = shutil.which("restic")
        if binary is None:
            raise ResticFailed("restic is not installed (Debian: apt-get install restic)")
        try:
            done = subprocess.run(
                [binary, *args],
                env=self._env(),
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ResticFailed(f"restic {args[0]} took longer than {TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            said = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit {done.returncode}"
            raise ResticFailed(f"restic {args[0]} failed: {said}", exit_code=done.returncode)
        return done.stdout

    def ensure_repository(self) -> None:
        """Make the repository if it is not there yet (once per process)."""
        if self._ready:
            return
        try:
            self.run("cat", "config")
        except ResticFailed:
            self.run("init")
        self._ready = True

    def backup(
        self,
        paths: Sequence[Path],
        *,
        cwd: Path,
        tags: Iterable[str],
        excludes: Iterable[str] = (),
    ) -> BackupSummary:
        """Back up ``paths`` (relative to ``cwd``: the snapshot holds them so, and a
        restore puts them at the same relative paths below its target)."""
        self.ensure_repository()
        args = ["backup", "--json", "--host", "roost"]
        for tag in tags:
            args += ["--tag", tag]
        for pattern in excludes:
            args += ["--exclude", pattern]
        output = self.run(*args, *(str(path) for path in paths), cwd=cwd)
        summary = _summary(output)
        return BackupSummary(
            snapshot_id=str(summary["snapshot_id"]),
            bytes_processed=int(summary.get("total_bytes_processed", 0)),
            data_added=int(summary.get("data_added", 0)),
            files_new=int(summary.get("files_new", 0)),
            files_changed=int(summary.get("files_changed", 0)),
            files_unmodified=int(summary.get("files_unmodified", 0)),
        )

    def restore(self, snapshot_id: str, target: Path) -> None:
        """The snapshot below ``target`` (each path at its absolute path under it), every
        file's content checked against the repository's hashes."""
        self.ensure_repository()
        self.run("restore", snapshot_id, "--target", str(target), "--verify")

    def forget(self, snapshot_ids: Sequence[str], *, prune: bool = True) -> None:
        if snapshot_ids:
            self.run("forget", *snapshot_ids, *(["--prune"] if prune else []))

    def check(self) -> None:
        self.run("check")


def _summary(output: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "summary":
            return message
    raise ResticFailed("restic backup gave no summary")
