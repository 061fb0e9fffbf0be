"""The restic target: a second backup after changing 1% of the data, next to the first,
and next to restic run by hand on the same tree, in the same run.

An instance directory of ``--size`` MiB (the tree of ``benchmarks/backup.py``: half
text, half random, a quarter in small files). Each round uses fresh repositories and:

- roost: ``take_backup(target="restic")`` once, then 1% of the bytes changed (1% of
  the small files rewritten, and a slice of one large file overwritten in place),
  then again; the second's time over the first's (target <= 0.2) and what the second
  added to the repository over what the first made (target <= 0.05);
- restic by hand: ``restic backup`` of the same tree before and after the same
  change, into a repository of its own: the floor roost's target stands on.

    uv run python -m benchmarks.backup_restic --size 1024 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.backup import make_tree
from roost.auth import LOCAL_ACTOR
from roost.composition import open_context
from roost.services import backups
from roost.services.create import CreateRequest, create_instance
from roost.settings import Settings, sqlite_url


def change_one_percent(folder: Path, size: int, round_: int) -> int:
    """Rewrite about 1% of ``size`` bytes: half in small files, half inside a big one."""
    budget = size // 100
    changed = 0
    for path in sorted((folder / "data" / "small").iterdir())[round_::50]:
        if changed >= budget // 2:
            break
        length = path.stat().st_size
        path.write_bytes(os.urandom(length))
        changed += length
    big = folder / "data" / "big1.bin"
    with open(big, "r+b") as out:
        out.seek(1024 * 1024 * (1 + round_))
        out.write(os.urandom(budget - changed))
    return budget


def repo_bytes(repo: Path) -> int:
    return sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())


def by_hand(repo: Path, folder: Path, password: Path) -> float:
    env = {**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD_FILE": str(password)}
    if not repo.exists():
        subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    began = time.perf_counter()
    subprocess.run(
        ["restic", "backup", "--host", "bench", "."],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


async def one_round(root: Path, size_mib: int, round_: int) -> dict[str, float]:
    home = root / "home"
    home.mkdir()
    settings = replace(
        Settings(home=home, database_url=sqlite_url(home / "roost.db")),
        backup_restic=str(root / "repo"),
    )
    ctx = await open_context(settings, jobs=())
    try:
        await create_instance(ctx, LOCAL_ACTOR, CreateRequest(instance_id="big"))
        folder = home / "instances" / "big"
        folder.mkdir(parents=True, exist_ok=True)
        size = make_tree(folder, size_mib)
        figures: dict[str, float] = {}
        hand_repo = root / "by-hand"
        password = home / "restic.password"
        for step in ("first", "second"):
            if step == "second":
                change_one_percent(folder, size, round_)
            began = time.perf_counter()
            _, done = await backups.take_backup(ctx, LOCAL_ACTOR, "big", target="restic")
            finished = await done
            figures[f"roost {step} s"] = time.perf_counter() - began
            assert finished.status == "completed", finished.error
            figures[f"roost {step} repo"] = repo_bytes(root / "repo")
            figures[f"restic {step} s"] = by_hand(hand_repo, folder, password)
            figures[f"restic {step} repo"] = repo_bytes(hand_repo)
        figures["size"] = size
        return figures
    finally:
        await ctx.close()


async def run(args: argparse.Namespace) -> None:
    rounds = []
    for round_ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            rounds.append(await one_round(Path(folder), args.size, round_))
    size = rounds[0]["size"]
    print(f"tree: {size / 2**20:.0f} MiB; 1% changed between the two backups")

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    for who in ("roost", "restic"):
        first, second = median(f"{who} first s"), median(f"{who} second s")
        made = median(f"{who} first repo")
        added = median(f"{who} second repo") - made
        print(
            f"{who:6}  first {first:6.2f} s  second {second:6.2f} s  time ratio "
            f"{second / first:.3f}   repository {made / 2**20:6.0f} MiB, second added "
            f"{added / 2**20:5.1f} MiB = {added / made:.3f} of it"
        )
    print("targets (roost): time ratio <= 0.2, added <= 0.05")
    overhead = median("roost first s") / median("restic first s")
    print(f"roost's first backup / restic by hand: {overhead:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024, help="MiB")
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
