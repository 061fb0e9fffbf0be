"""The instance directory's layout is said in one place, and its writes stay inside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roost.domain.errors import InvalidInput
from roost.domain.layout import log_file, service_env_file
from roost.instance_dir import InstanceDir, RenderedFile, instance_dirs


def test_the_layout(tmp_path: Path) -> None:
    directory = InstanceDir(tmp_path, "7")
    assert directory.path == tmp_path / "instances" / "7"
    assert directory.data == directory.path / "data"
    assert directory.record == directory.path / "instance.json"
    assert (
        directory.log("api") == directory.path / log_file("api") == directory.path / "logs/api.log"
    )
    assert service_env_file("api") == "env/api.env"


def test_every_instance_directory_of_a_home_and_its_logs(tmp_path: Path) -> None:
    assert instance_dirs(tmp_path) == []
    for instance_id in ("b", "a"):
        InstanceDir(tmp_path, instance_id).ensure()
    (tmp_path / "instances" / "stray-file").write_text("")
    found = instance_dirs(tmp_path)
    assert [d.instance_id for d in found] == ["a", "b"]
    found[0].log("web").write_text("x")
    found[0].log("api").write_text("y")
    (found[0].path / "logs" / "api.log.1").write_text("rotated")
    assert [p.name for p in found[0].log_files()] == ["api.log", "web.log"]


def test_data_is_copied_with_its_links_and_nothing_else(tmp_path: Path) -> None:
    source, copy = InstanceDir(tmp_path, "s"), InstanceDir(tmp_path, "c")
    source.ensure()
    (source.data / "world").mkdir()
    (source.data / "world" / "level.dat").write_bytes(b"\x00\x01")
    os.symlink("world/level.dat", source.data / "current")
    source.write([RenderedFile("roost.env", "A=1\n")])
    source.copy_data_to(copy)
    assert (copy.data / "world" / "level.dat").read_bytes() == b"\x00\x01"
    assert os.readlink(copy.data / "current") == "world/level.dat"
    assert not (copy.path / "roost.env").exists()  # only data/: the rest is rendered anew
    InstanceDir(tmp_path, "empty").copy_data_to(copy)  # no data/ to copy: nothing happens


def test_writes_and_removals_stay_inside(tmp_path: Path) -> None:
    directory = InstanceDir(tmp_path, "1")
    directory.write([RenderedFile("conf/a.ini", "x", secret=True)])
    assert (directory.path / "conf" / "a.ini").stat().st_mode & 0o777 == 0o600
    outside = tmp_path / "outside"
    outside.write_text("keep")
    for unsafe in ("../../outside", "/etc/hostname"):
        with pytest.raises(InvalidInput):
            directory.write([RenderedFile(unsafe, "x")])
        with pytest.raises(InvalidInput):
            directory.remove_files([unsafe])
    assert outside.read_text() == "keep"
    directory.remove_files(["conf/a.ini", "never-written"])
    assert not (directory.path / "conf" / "a.ini").exists()
