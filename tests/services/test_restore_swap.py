"""The swap of a restore on real file systems: a second rename that fails (across file
systems: EXDEV) puts the old directory back exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.archive import write_archive
from roost.domain.backups import Manifest
from roost.services.restore_files import swap_in
from tests.servers import tmpfs

BASE = Manifest("r1", "saved", "1", "0.1.0", "2026-11-30T12:00:00Z", {})


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system of its own (a tmpfs)."""
    with tmpfs(tmp_path / "elsewhere", "size=8m") as folder:
        yield folder


def home_with_backup(tmp_path: Path) -> tuple[Path, Path, Path]:
    home = tmp_path / "home"
    current = home / "instances" / "r1"
    (current / "data").mkdir(parents=True)
    (current / "data" / "world.dat").write_text("version one\n")
    archive = tmp_path / "backup.tar.zst"
    with open(archive, "wb") as out:
        write_archive(out, current, BASE)
    (current / "data" / "world.dat").write_text("version two\n")
    return home, current, archive


def test_a_swap_puts_the_backup_in_place(tmp_path: Path) -> None:
    home, current, archive = home_with_backup(tmp_path)
    swap_in(home, "r1", archive)
    assert (current / "data" / "world.dat").read_text() == "version one\n"
    assert sorted(p.name for p in current.parent.iterdir()) == ["r1"]


def test_a_second_rename_that_fails_puts_the_old_directory_back(
    tmp_path: Path, elsewhere: Path
) -> None:
    home, current, archive = home_with_backup(tmp_path)
    with pytest.raises(OSError, match="cross-device") as failed:
        swap_in(home, "r1", archive, unpack_in=elsewhere)  # the rename in crosses devices
    assert failed.value.errno == 18  # EXDEV
    assert (current / "data" / "world.dat").read_text() == "version two\n"
    assert sorted(p.name for p in current.parent.iterdir()) == ["r1"]  # nothing left over
    assert list(elsewhere.iterdir()) == []
