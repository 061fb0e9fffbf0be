"""Backups to archives next to ``tar --zstd``, on the same tree, in the same run.

An instance directory of ``--size`` MiB (default 1 GiB): half compressible text, half
random bytes, in a few large files and a few thousand small ones. In one process (a
context on a SQLite home, no background jobs), each round times:

- backup: roost's ``take_backup`` until it is completed, next to ``tar --zstd -cf``,
  and next to it followed by ``sync FILE`` (roost's archive is flushed to disk before
  it counts as completed; tar's is not);
- restore: roost's unpack-and-swap step (``swap_in``: every entry checked and hashed,
  written beside, renamed in), next to ``tar --zstd -xf`` into an empty folder; and the
  whole ``restore_backup`` (verify, a pre-restore backup, the swap) for scale.

It prints MB/s (of the tree's bytes), the ratios to tar (target >= 0.7 both ways) and
the process's peak RSS (target < 200 MB).

    uv run python -m benchmarks.backup --size 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from roost.auth import LOCAL_ACTOR
from roost.composition import open_context
from roost.services import backup_files, backups, restore, restore_files
from roost.services.create import CreateRequest, create_instance
from roost.settings import Settings, sqlite_url

TEXT = b"".join(
    f"line {i}: the quick brown fox jumps over the lazy dog\n".encode() for i in range(1000)
)


def make_tree(folder: Path, size_mib: int) -> int:
    """Half text, half random; a quarter of it in 4 KiB-64 KiB files. Bytes written."""
    total = size_mib * 1024 * 1024
    written = 0
    small = folder / "data" / "small"
    small.mkdir(parents=True)
    count = 0
    while written < total // 4:  # small files
        size = 4096 + (count * 7919) % (60 * 1024)
        data = os.urandom(size) if count % 2 else (TEXT * (size // len(TEXT) + 1))[:size]
        (small / f"f{count:05d}.bin").write_bytes(data)
        written += size
        count += 1
    big = 0
    while written < total:  # 64 MiB files, alternately text and random
        size = min(64 * 1024 * 1024, total - written)
        with open(folder / "data" / f"big{big}.bin", "wb") as out:
            left = size
            while left:
                chunk = min(left, 1024 * 1024)
                out.write(os.urandom(chunk) if big % 2 else (TEXT * 20)[:chunk].ljust(chunk, b"."))
                left -= chunk
        written += size
        big += 1
    return written


def timed(argv: list[str], cwd: Path) -> float:
    began = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - began


async def run(args: argparse.Namespace, root: Path) -> None:
    home = root / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=sqlite_url(home / "roost.db"))
    ctx = await open_context(settings, jobs=())
    try:
        await create_instance(ctx, LOCAL_ACTOR, CreateRequest(instance_id="big"))
        folder = home / "instances" / "big"
        folder.mkdir(parents=True, exist_ok=True)
        size = make_tree(folder, args.size)
        files = sum(1 for _ in folder.rglob("*") if _.is_file())
        print(f"tree: {size / 2**20:.0f} MiB in {files} files")
        ours_in, tar_in, ours_out, tar_out, whole = [], [], [], [], []
        tar_synced: list[float] = []
        for _ in range(args.rounds):
            tarball = root / "tree.tar.zst"
            tar_in.append(timed(["tar", "--zstd", "-cf", str(tarball), "."], folder))
            # roost's archive is on disk when it says completed: tar's, once synced
            tar_synced.append(tar_in[-1] + timed(["sync", str(tarball)], folder))
            began = time.perf_counter()
            row, done = await backups.take_backup(ctx, LOCAL_ACTOR, "big")
            finished = await done
            ours_in.append(time.perf_counter() - began)
            assert finished.status == "completed", finished.error
            out = root / "untarred"
            out.mkdir()
            tar_out.append(timed(["tar", "--zstd", "-xf", str(tarball)], out))
            shutil.rmtree(out)
            tarball.unlink()
            archive = backup_files.archive_path(ctx, "big", row.name)
            began = time.perf_counter()
            await asyncio.to_thread(restore_files.swap_in, home, "big", archive)
            ours_out.append(time.perf_counter() - began)
            began = time.perf_counter()
            await restore.restore_backup(ctx, LOCAL_ACTOR, "big", row.name)
            whole.append(time.perf_counter() - began)
            for old in (home / "backups" / "big").iterdir():
                old.unlink()
        mb = size / 1e6

        def rate(seconds: list[float]) -> str:
            return f"{mb / statistics.median(seconds):7.0f} MB/s"

        print(
            f"backup  tar --zstd -cf {rate(tar_in)}   roost {rate(ours_in)}"
            f"   ratio {statistics.median(tar_in) / statistics.median(ours_in):.2f} (target >= 0.7)"
        )
        print(
            f"backup  tar + sync     {rate(tar_synced)}   roost {rate(ours_in)}"
            f"   ratio {statistics.median(tar_synced) / statistics.median(ours_in):.2f}"
        )
        print(
            f"restore tar --zstd -xf {rate(tar_out)}   roost swap {rate(ours_out)}"
            f"   ratio {statistics.median(tar_out) / statistics.median(ours_out):.2f} (target >= 0.7)"
        )
        print(f"whole restore (verify, pre-restore backup, swap): {statistics.median(whole):.1f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the process: {peak:.0f} MB (target < 200)")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024, help="MiB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args, Path(folder)))


if __name__ == "__main__":
    main()
