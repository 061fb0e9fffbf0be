"""Service logs: the last lines, following across copy-truncate rotation, rotation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.runtime.logs import follow, last_lines, rotate


def test_last_lines_ignores_a_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\ntwo\nthree\npart")
    assert last_lines(log, 2) == (["two", "three"], 14)
    assert last_lines(log, 10) == (["one", "two", "three"], 14)
    assert last_lines(tmp_path / "missing.log", 5) == ([], 0)
    big = tmp_path / "big.log"
    big.write_text("".join(f"line {n}\n" for n in range(50_000)))
    assert last_lines(big, 3)[0] == ["line 49997", "line 49998", "line 49999"]


async def test_follow_reads_new_lines_and_survives_rotation(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_text("old\n")
    _, offset = last_lines(log, 0)
    seen: list[tuple[str, str]] = []

    async def collect() -> None:
        async for item in follow({"api": log}, {"api": offset}, every=0.02):
            seen.append(item)

    task = asyncio.create_task(collect())
    with log.open("a") as handle:
        handle.write("first\nsec")
        handle.flush()
        await asyncio.sleep(0.1)
        handle.write("ond\n")
        handle.flush()
        await asyncio.sleep(0.1)
    assert rotate(log, max_bytes=5, keep=2)
    await asyncio.sleep(0.1)
    with log.open("a") as handle:
        handle.write("after rotation\n")
    await asyncio.sleep(0.1)
    task.cancel()
    assert seen == [("api", "first"), ("api", "second"), ("api", "after rotation")]
    assert (tmp_path / "api.log.1").read_text() == "old\nfirst\nsecond\n"


def test_rotate_keeps_the_newest_n(tmp_path: Path) -> None:
    log = tmp_path / "s.log"
    for generation in range(5):
        log.write_text(f"generation {generation}\n" * 10)
        assert rotate(log, max_bytes=10, keep=3)
        assert log.read_text() == ""
    assert not rotate(log, max_bytes=10, keep=3)  # small: left alone
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["s.log", "s.log.1", "s.log.2", "s.log.3"]
    assert (tmp_path / "s.log.1").read_text().startswith("generation 4")
    assert (tmp_path / "s.log.3").read_text().startswith("generation 2")
