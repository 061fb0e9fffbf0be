"""Replay of the embedded store's log at start, next to reading the same file.

A log of ``--gib`` GiB is written once (records of ``--value-bytes`` values, keys spread
over 100 namespaces, every tenth key written twice so replay also replaces entries).
Then, alternating ``--rounds`` times, from the page cache both: the baseline reads the
file in 1 MiB blocks and computes one crc32 over it (what any checked read of it costs);
roost opens an ``EmbeddedStore`` on it (every record's header, names and value checked,
the index built). Printed: MB/s of each, medians, and roost's ratio to the baseline.

    uv run python -m benchmarks.replay --gib 1 --value-bytes 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import zlib
from pathlib import Path

from roost.cache.embedded import LOG_NAME, EmbeddedStore
from roost.cache.log_format import PUT, encode

MB = 1_000_000


def write_log(folder: Path, size: int, value_bytes: int) -> int:
    value = os.urandom(value_bytes)
    written = 0
    n = 0
    with open(folder / LOG_NAME, "wb") as out:
        while written < size:
            batch = []
            for _ in range(1000):
                key = n if n % 10 else n - 5  # every tenth record replaces an earlier key
                batch.append(encode(PUT, f"ns-{key % 100}".encode(), f"k{key}".encode(), value, 0))
                n += 1
            data = b"".join(batch)
            out.write(data)
            written += len(data)
    return n


def read_and_check(path: Path) -> float:
    started = time.perf_counter()
    crc = 0
    with open(path, "rb", buffering=0) as log:
        while block := log.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return time.perf_counter() - started


def replay(folder: Path) -> tuple[float, int]:
    started = time.perf_counter()
    store = EmbeddedStore(folder, memory_budget=0)
    elapsed = time.perf_counter() - started
    keys = sum(
        asyncio.run(store.usage(f"ns-{n}")).keys for n in range(100)
    )  # what was rebuilt, so the work cannot be skipped
    asyncio.run(store.close())
    return elapsed, keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--value-bytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        records = write_log(folder, int(args.gib * (1 << 30)), args.value_bytes)
        size = os.path.getsize(folder / LOG_NAME)
        read_and_check(folder / LOG_NAME)  # into the page cache
        baseline, roost = [], []
        for _ in range(args.rounds):
            baseline.append(size / read_and_check(folder / LOG_NAME) / MB)
            elapsed, keys = replay(folder)
            roost.append(size / elapsed / MB)
            assert os.path.getsize(folder / LOG_NAME) == size, "replay changed the log"
        print(
            f"log: {size / MB:,.0f} MB, {records:,} records of {args.value_bytes}-byte values,"
            f" {keys:,} live keys"
        )
        print(f"baseline, read + crc32:  {statistics.median(baseline):,.0f} MB/s  {baseline}")
        print(f"roost, replay at open:   {statistics.median(roost):,.0f} MB/s  {roost}")
        ratios = [r / b for r, b in zip(roost, baseline, strict=True)]
        print(f"ratio (median of rounds): {statistics.median(ratios):.2f}; target >= 200 MB/s")


if __name__ == "__main__":
    main()
