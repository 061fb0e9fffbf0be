"""Writes under a folder never follow a link: planted links to folders are refused,
links to files are replaced, and what they point at is never touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roost.confined import Confined, UnsafePath
from roost.instance_dir import InstanceDir, RenderedFile


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd").write_text("root:x:0:0\n")
    return folder


def test_a_link_to_a_folder_on_the_way_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "conf").symlink_to(outside)
    with Confined(root) as folder:
        with pytest.raises(UnsafePath) as refused:
            folder.write("conf/passwd", b"pwned")
        assert refused.value.code == "UNSAFE_PATH"
        with pytest.raises(UnsafePath):
            folder.write("conf/new.ini", b"x")
        with pytest.raises(UnsafePath):
            folder.unlink("conf/passwd")
        assert folder.read("conf/passwd") is None
    assert (outside / "passwd").read_text() == "root:x:0:0\n"
    assert sorted(p.name for p in outside.iterdir()) == ["passwd"]


def test_a_link_in_a_files_place_is_replaced_not_followed(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "root"
    (root / "deep").mkdir(parents=True)
    (root / "deep" / "motd.txt").symlink_to(outside / "passwd")
    with Confined(root) as folder:
        assert folder.read("deep/motd.txt") is None  # a link is not a file of ours
        folder.write("deep/motd.txt", b"hello", mode=0o600)
        assert folder.read("deep/motd.txt") == (b"hello", 0o600)
    assert not (root / "deep" / "motd.txt").is_symlink()
    assert (outside / "passwd").read_text() == "root:x:0:0\n"
    (root / "gone").symlink_to(outside / "passwd")
    with Confined(root) as folder:
        assert folder.unlink("gone")  # the link goes, its target stays
        assert not folder.unlink("gone")
    assert (outside / "passwd").exists()


def test_the_folder_itself_may_not_be_a_link(tmp_path: Path, outside: Path) -> None:
    (tmp_path / "root").symlink_to(outside)
    with pytest.raises(UnsafePath):
        Confined(tmp_path / "root")


def test_missing_folders_are_made_0700_and_files_get_their_mode(tmp_path: Path) -> None:
    with Confined(tmp_path / "root", create=True) as folder:
        folder.write("a/b/c.txt", b"x", mode=0o640)
    assert (tmp_path / "root" / "a" / "b" / "c.txt").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "root" / "a").stat().st_mode & 0o777 == 0o700
    assert [p.name for p in (tmp_path / "root" / "a" / "b").iterdir()] == ["c.txt"]


def test_rendering_an_instance_never_writes_through_a_planted_link(
    tmp_path: Path, outside: Path
) -> None:
    directory = InstanceDir(tmp_path / "home", "1")
    directory.write([RenderedFile("conf/game.ini", "a"), RenderedFile("motd.txt", "b")])
    os.unlink(directory.path / "motd.txt")
    (directory.path / "motd.txt").symlink_to(outside / "passwd")
    assert directory.write([RenderedFile("motd.txt", "b")]) == ["motd.txt"]
    (directory.path / "conf" / "game.ini").unlink()
    (directory.path / "conf").rmdir()
    (directory.path / "conf").symlink_to(outside)
    with pytest.raises(UnsafePath):
        directory.write([RenderedFile("conf/game.ini", "a")])
    with pytest.raises(UnsafePath):
        directory.remove_files(["conf/passwd"])
    assert (outside / "passwd").read_text() == "root:x:0:0\n"
    assert directory.path.stat().st_mode & 0o777 == 0o700
