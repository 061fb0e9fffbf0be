"""The restic target's writing step with a real repository: a file that changes
between the manifest's read and restic's fails the backup and leaves no snapshot."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from roost.domain.backups import Manifest
from roost.restic import BackupSummary, Restic
from roost.services.restic_target import FileChangedDuringBackup, _write

BASE = Manifest("w1", "world", "1", "0.1.0", "2026-11-30T12:00:00Z", {})


class WriterDuringBackup(Restic):
    """restic, with a service that writes to a file just as restic starts reading."""

    def __init__(self, *args: object, victim: Path) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.victim = victim

    def backup(
        self,
        paths: Sequence[Path],
        *,
        cwd: Path,
        tags: Iterable[str],
        excludes: Iterable[str] = (),
    ) -> BackupSummary:
        self.victim.write_bytes(b"")
        return super().backup(paths, cwd=cwd, tags=tags, excludes=excludes)


def restic_in(tmp_path: Path, cls: type[Restic] = Restic, **extra: Path) -> Restic:
    password = tmp_path / "password"
    password.write_text("test\n")
    return cls(str(tmp_path / "repo"), password, tmp_path / "cache", **extra)


def home_with_world(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    data = home / "instances" / "w1" / "data"
    data.mkdir(parents=True)
    (data / "region.dat").write_bytes(b"r" * 5000)
    (home / "instances" / "w1" / "logs").mkdir()
    (home / "instances" / "w1" / "logs" / "main.log").write_text("noise\n")
    return home


def test_a_file_changed_after_it_was_hashed_fails_the_backup(tmp_path: Path) -> None:
    home = home_with_world(tmp_path)
    victim = home / "instances" / "w1" / "data" / "region.dat"
    restic = restic_in(tmp_path, WriterDuringBackup, victim=victim)
    with pytest.raises(FileChangedDuringBackup, match=r"data/region\.dat changed"):
        _write(restic, home, BASE, {}, True)
    assert json.loads(restic.run("snapshots", "--json")) == []


def test_unchanged_files_are_not_read_again_and_logs_stay_out(tmp_path: Path) -> None:
    home = home_with_world(tmp_path)
    restic = restic_in(tmp_path)
    _write(restic, home, BASE, {}, False)
    known = home / "backups" / ".restic" / "w1.hashes.json"
    remembered = json.loads(known.read_text())
    assert list(remembered) == ["data/region.dat"]
    remembered["data/region.dat"][3] = "0" * 64  # a hash only the cache can give
    known.write_text(json.dumps(remembered))
    size, _, location = _write(restic, home, BASE, {}, False)
    manifest = json.loads((home / "backups" / ".restic" / "w1" / "manifest.json").read_text())
    assert manifest["files"][0][2] == "0" * 64  # not read again: size, mtime, inode same
    listed = restic.run("ls", "--json", location.removeprefix("restic:"))
    assert "main.log" not in listed and "region.dat" in listed
    assert size >= 5000
