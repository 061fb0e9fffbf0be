"""Backup archives with real files: written and read back whole, damage found wherever
it is, and hostile archives refused before anything is written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
import zstandard

from roost.archive import FileChanged, Scanned, scan_archive, write_archive
from roost.domain.backups import ArchiveRefused, FileEntry, Manifest

BASE = Manifest(
    instance_id="i1",
    app="game",
    version="1.0.0",
    roost_version="0.1.0",
    created_at="2026-11-30T12:00:00.000000Z",
    instance={"name": "one", "config": {"difficulty": "hard"}},
)


def tree(root: Path) -> Path:
    folder = root / "instance"
    (folder / "data" / "world" / "region").mkdir(parents=True)
    (folder / "data" / "empty").mkdir()
    (folder / "logs").mkdir()
    (folder / "data" / "world" / "level.dat").write_text("seed=42\n" * 5000)
    (folder / "data" / "world" / "region" / "r.0.0.mca").write_bytes(os.urandom(300_000))
    (folder / "server.properties").write_text("port=25565\n")
    (folder / "server.properties").chmod(0o640)
    (folder / "logs" / "web.log").write_text("noise\n")
    os.symlink("world/level.dat", folder / "data" / "current")  # inside: kept
    os.symlink("/etc/passwd", folder / "data" / "escape")  # outside: left out
    os.mkfifo(folder / "data" / "pipe")  # neither file nor folder: left out
    return folder


def written(root: Path, folder: Path, **options: object) -> tuple[Path, Manifest]:
    target = root / "backup.tar.zst"
    with open(target, "wb") as out:
        manifest, counted = write_archive(
            out,
            folder,
            BASE,
            include=lambda path: not path.startswith("logs"),
            extras={"cache.ndjson": b'{"k":"a","v":"MQ=="}\n', "sealed.json": b"{}"},
            **options,  # type: ignore[arg-type]
        )
    assert counted.size == target.stat().st_size
    return target, manifest


def scan(path: Path, into: Path | None = None) -> Scanned:
    with open(path, "rb") as source:
        return scan_archive(source, into=into)


def test_an_archive_holds_the_tree_and_reads_back_whole(tmp_path: Path) -> None:
    folder = tree(tmp_path)
    path, manifest = written(tmp_path, folder)
    listed = {f.path: f for f in manifest.files}
    assert set(listed) == {
        "server.properties",
        "data/world/level.dat",
        "data/world/region/r.0.0.mca",
    }
    assert listed["server.properties"].mode == 0o640
    assert listed["data/world/level.dat"].size == 40_000
    scanned = scan(path)
    assert scanned.manifest == manifest and scanned.size == path.stat().st_size
    assert set(scanned.extras) == {"cache.ndjson", "sealed.json"}

    into = tmp_path / "restored"
    into.mkdir()
    scan(path, into)
    files = into / "files"
    for name in listed:
        assert (files / name).read_bytes() == (folder / name).read_bytes()
    assert (files / "server.properties").stat().st_mode & 0o777 == 0o640
    assert os.readlink(files / "data" / "current") == "world/level.dat"
    assert (files / "data" / "empty").is_dir()
    assert not (files / "data" / "escape").exists() and not (files / "logs").exists()
    assert not (files / "data" / "pipe").exists()
    assert (into / "cache.ndjson").read_bytes() == b'{"k":"a","v":"MQ=="}\n'


@pytest.mark.parametrize("where", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_flipped_byte_is_found(tmp_path: Path, where: float) -> None:
    path, _ = written(tmp_path, tree(tmp_path))
    data = bytearray(path.read_bytes())
    at = min(len(data) - 1, int(len(data) * where))
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveRefused):
        scan(path)


def test_a_cut_archive_is_refused(tmp_path: Path) -> None:
    path, _ = written(tmp_path, tree(tmp_path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ArchiveRefused, match=r"damaged|no manifest"):
        scan(path)


def test_a_file_that_shrinks_while_it_is_read_fails_the_backup(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    folder.mkdir()
    big = folder / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))

    def shrink(_: int) -> None:
        os.truncate(big, 1000)

    with pytest.raises(FileChanged, match=r"big\.bin changed while it was read"):
        written(tmp_path, folder, progress=shrink)


# -- hostile archives, made by hand ----------------------------------------------------


Member = tuple[tarfile.TarInfo, bytes]


def crafted(
    path: Path, members: list[Member], manifest: Manifest | None = BASE, after: Member | None = None
) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if info.isfile() else None)
        if manifest is not None:
            body = json.dumps(manifest.to_json()).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        if after is not None:
            tar.addfile(after[0], io.BytesIO(after[1]))
    path.write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
    return path


def file(name: str, content: bytes = b"x") -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    return info, content


def special(name: str, kind: bytes, link: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, b""


def listing(*entries: tuple[str, bytes]) -> Manifest:
    import hashlib

    files = tuple(FileEntry(n, len(c), hashlib.sha256(c).hexdigest()) for n, c in entries)
    return Manifest(**{**BASE.__dict__, "files": files})


HOSTILE: dict[str, tuple[list[Member], Manifest | None, str]] = {
    "absolute": ([file("/etc/cron.d/x")], BASE, "not a relative path"),
    "dotdot": ([file("files/../../x")], BASE, "'..'"),
    "outside files": ([file("instance.json")], BASE, "not a part of a backup"),
    "link out": ([special("files/l", tarfile.SYMTYPE, "../../etc")], BASE, "outside"),
    "absolute link": ([special("files/l", tarfile.SYMTYPE, "/etc")], BASE, "outside"),
    "hard link": ([special("files/h", tarfile.LNKTYPE, "files/a")], BASE, "hardlink"),
    "device": ([special("files/d", tarfile.CHRTYPE)], BASE, "device"),
    "fifo": ([special("files/f", tarfile.FIFOTYPE)], BASE, "fifo"),
    "below a link": (
        [special("files/l", tarfile.SYMTYPE, "sub"), file("files/l/x")],
        BASE,
        "below a link",
    ),
    "larger than listed": ([file("files/a", b"abcdef")], listing(("a", b"abc")), "6 bytes"),
    "not listed": ([file("files/a"), file("files/b")], listing(("a", b"x")), "not in the"),
    "other content": ([file("files/a", b"y")], listing(("a", b"x")), "sha256"),
    "missing": ([], listing(("a", b"x")), "not in the archive"),
    "no manifest": ([file("files/a")], None, "no manifest"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_archive_is_refused_and_nothing_is_written(tmp_path: Path, case: str) -> None:
    members, manifest, said = HOSTILE[case]
    path = crafted(tmp_path / "evil.tar.zst", members, manifest)
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(ArchiveRefused, match=said):
        scan(path)  # the check that comes before any extraction
    assert list(into.iterdir()) == []


def test_an_entry_after_the_manifest_is_refused(tmp_path: Path) -> None:
    path = crafted(tmp_path / "late.tar.zst", [], BASE, after=file("files/late"))
    with pytest.raises(ArchiveRefused, match="comes after the manifest"):
        scan(path)


def test_the_same_archive_without_a_hostile_part_passes(tmp_path: Path) -> None:
    """The refusals above are for their own reasons, not because hand-made archives fail."""
    path = crafted(tmp_path / "good.tar.zst", [file("files/a", b"x")], listing(("a", b"x")))
    assert scan(path).manifest.files[0].path == "a"


@pytest.mark.parametrize(
    ("dump", "said"),
    [
        (b'{"k":"a","v":"Mg==","x":0}\n', "cache dump does not match"),  # same size, altered
        (None, "cache dump is in the manifest but not in the archive"),
    ],
)
def test_a_cache_dump_unlike_its_manifest_entry_is_refused(
    tmp_path: Path, dump: bytes | None, said: str
) -> None:
    original = b'{"k":"a","v":"MQ==","x":0}\n'
    manifest = replace(
        BASE,
        cache={"keys": 1, "size": len(original), "sha256": hashlib.sha256(original).hexdigest()},
    )
    target = tmp_path / "backup.tar.zst"
    extras = {} if dump is None else {"cache.ndjson": dump}
    with open(target, "wb") as out:
        write_archive(out, tree(tmp_path), manifest, extras=extras)
    with pytest.raises(ArchiveRefused, match=said):
        scan(target)
    with open(target, "wb") as out:
        write_archive(out, tmp_path / "instance", manifest, extras={"cache.ndjson": original})
    assert scan(target).extras["cache.ndjson"][0] == len(original)
