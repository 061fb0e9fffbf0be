"""Damage to the embedded store's log costs only the damaged records: flipped bits and
bytes anywhere, garbage appended, a record cut short. Which keys survive is checked
exactly, against record positions taken from the store as it wrote them."""

from __future__ import annotations

import logging
import os
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from roost.cache.backend import DamageReport, Limits, ValueCorrupt
from roost.cache.check import check_log
from roost.cache.embedded import LOG_NAME, EmbeddedStore
from roost.cache.log_format import MAGIC

ROOMY = Limits(max_bytes=10**10, max_keys=10**7)


@dataclass(frozen=True)
class Written:
    namespace: str
    key: str
    value: bytes
    start: int  # where its record starts in the log
    end: int


class Reports:
    def __init__(self) -> None:
        self.seen: list[DamageReport] = []

    async def cache_damaged(self, report: DamageReport) -> None:
        self.seen.append(report)


async def write_log(folder: Path, count: int = 24) -> list[Written]:
    """``count`` keys in three namespaces, one record each, with where each record is."""
    store = EmbeddedStore(folder)
    written = []
    for n in range(count):
        namespace, key = f"tenant-{n % 3}", f"key-{n:03d}"
        value = f"value {n} ".encode() * (1 + n % 5)
        start = store.log_bytes
        await store.put(namespace, key, value, None, ROOMY)
        written.append(Written(namespace, key, value, start, store.log_bytes))
    await store.close()
    return written


def damage(folder: Path, offset: int, change: int = 0xFF) -> None:
    path = folder / LOG_NAME
    data = bytearray(path.read_bytes())
    data[offset] ^= change
    path.write_bytes(bytes(data))


def hit(written: list[Written], offset: int) -> Written:
    return next(w for w in written if w.start <= offset < w.end)


async def survivors(folder: Path, written: list[Written]) -> tuple[set[str], list[DamageReport]]:
    """The keys that come back, each with exactly its value (a wrong value fails)."""
    store = EmbeddedStore(folder)
    reports = Reports()
    await store.listen(reports)
    back = set()
    for w in written:
        value = await store.get(w.namespace, w.key)
        assert value in (None, w.value), f"{w.key} came back changed"
        if value is not None:
            back.add(w.key)
    await store.close()
    return back, reports.seen


def kept_logs(folder: Path) -> list[Path]:
    return sorted(folder.glob(LOG_NAME + ".damaged-*"))


@pytest.mark.parametrize("where", ["the first record (offset 50)", "middle", "last byte"])
async def test_one_flipped_byte_costs_exactly_its_record(
    tmp_path: Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    written = await write_log(tmp_path)
    original = (tmp_path / LOG_NAME).read_bytes()
    offset = {"the first record (offset 50)": 50, "middle": len(original) // 2}.get(
        where, len(original) - 1
    )
    lost = hit(written, offset)
    damage(tmp_path, offset)
    with caplog.at_level(logging.INFO, logger="roost.cache"):
        back, reports = await survivors(tmp_path, written)
    assert back == {w.key for w in written} - {lost.key}
    [report] = reports
    assert report.found == "open" and report.records == 1
    assert report.bytes == lost.end - lost.start
    assert report.keys in (((lost.namespace, lost.key),), ())  # named unless its names broke
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1 record(s)" in warnings[0].getMessage()
    [kept] = kept_logs(tmp_path)
    assert kept.read_bytes() == bytes(
        b ^ (0xFF if i == offset else 0) for i, b in enumerate(original)
    ), "the damaged original is kept as it was"
    assert report.kept == str(kept)
    assert not check_log(tmp_path).damaged, "the log was rewritten without the damage"
    again, reports_again = await survivors(tmp_path, written)
    assert again == back and reports_again == []


async def test_every_single_byte_flipped_loses_one_record_and_serves_nothing_wrong(
    tmp_path: Path,
) -> None:
    written = await write_log(tmp_path / "source", count=8)
    original = (tmp_path / "source" / LOG_NAME).read_bytes()
    folder = tmp_path / "trial"
    rng = random.Random(12)
    for offset in range(len(original)):
        folder.mkdir(exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        (folder / LOG_NAME).write_bytes(original)
        damage(folder, offset, change=rng.choice([0xFF, 1 << rng.randrange(8)]))
        back, reports = await survivors(folder, written)
        assert back == {w.key for w in written} - {hit(written, offset).key}, offset
        assert len(reports) == 1 and reports[0].records == 1, offset


async def test_a_damaged_record_in_the_middle_of_several_does_not_revive_an_older_value(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path)
    await store.put("a", "k", b"old value", None, ROOMY)
    start = store.log_bytes
    await store.put("a", "k", b"new value", None, ROOMY)
    await store.put("a", "other", b"fine", None, ROOMY)
    await store.close()
    damage(tmp_path, store.log_bytes - 50)  # inside the value of the second write of k
    assert start < store.log_bytes - 50
    again = EmbeddedStore(tmp_path)
    assert await again.get("a", "k") is None
    assert await again.get("a", "other") == b"fine"
    await again.close()


async def test_garbage_appended_is_damage_and_costs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    written = await write_log(tmp_path)
    with open(tmp_path / LOG_NAME, "ab") as log:
        log.write(os.urandom(300).replace(MAGIC, b"xxxx"))
    with caplog.at_level(logging.WARNING, logger="roost.cache"):
        back, [report] = await survivors(tmp_path, written)
    assert back == {w.key for w in written}
    assert report.bytes == 300 and report.keys == () and report.unknown == 1
    assert "damaged" in caplog.text
    assert len(kept_logs(tmp_path)) == 1


@pytest.mark.parametrize("cut", [1, 10, 31, 33, 40])
async def test_a_record_cut_short_at_the_end_is_cut_off_quietly(
    tmp_path: Path, cut: int, caplog: pytest.LogCaptureFixture
) -> None:
    written = await write_log(tmp_path)
    last = written[-1]
    os.truncate(tmp_path / LOG_NAME, last.start + cut)
    with caplog.at_level(logging.INFO, logger="roost.cache"):
        back, reports = await survivors(tmp_path, written)
    assert back == {w.key for w in written} - {last.key}
    assert reports == [] and kept_logs(tmp_path) == []
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "incomplete record" in caplog.records[0].getMessage()
    assert os.path.getsize(tmp_path / LOG_NAME) == last.start


async def test_zeros_at_the_end_are_an_incomplete_write(tmp_path: Path) -> None:
    written = await write_log(tmp_path)
    with open(tmp_path / LOG_NAME, "ab") as log:
        log.write(bytes(4096))  # what a file system can leave after a power cut
    back, reports = await survivors(tmp_path, written)
    assert back == {w.key for w in written} and reports == []


async def test_damage_in_several_places_is_counted_per_place(tmp_path: Path) -> None:
    written = await write_log(tmp_path)
    for w in (written[2], written[11], written[20]):
        damage(tmp_path, w.start + 1)  # the magic: the header cannot be trusted
    back, [report] = await survivors(tmp_path, written)
    assert back == {w.key for w in written} - {"key-002", "key-011", "key-020"}
    assert report.records == 3 and len(report.ranges) == 3 and report.unknown == 3
    assert report.bytes == sum(written[n].end - written[n].start for n in (2, 11, 20))


async def test_a_value_damaged_on_disk_is_never_served(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, memory_budget=0)  # every read goes to the disk
    reports = Reports()
    await store.listen(reports)
    await store.put("a", "victim", b"the right bytes", None, ROOMY)
    await store.put("a", "bystander", b"untouched", None, ROOMY)
    fd = os.open(tmp_path / LOG_NAME, os.O_RDWR)
    try:
        at = (tmp_path / LOG_NAME).read_bytes().index(b"the right bytes")
        os.pwrite(fd, b"T", at)
    finally:
        os.close(fd)
    with pytest.raises(ValueCorrupt) as raised:
        await store.get("a", "victim")
    assert raised.value.code == "VALUE_CORRUPT" and raised.value.status == 500
    assert await store.get("a", "victim") is None, "the damaged key is dropped"
    assert await store.get_many("a", ["victim", "bystander"]) == {"bystander": b"untouched"}
    assert [(r.found, r.keys) for r in reports.seen] == [("read", (("a", "victim"),))]
    await store.close()


async def test_compaction_checks_what_it_copies(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, memory_budget=0)
    reports = Reports()
    await store.listen(reports)
    await store.put_many("a", {"one": b"first value", "two": b"second value"}, None, ROOMY)
    fd = os.open(tmp_path / LOG_NAME, os.O_RDWR)
    try:
        os.pwrite(fd, b"S", (tmp_path / LOG_NAME).read_bytes().index(b"second value"))
    finally:
        os.close(fd)
    store.compact()
    await store.expire()  # an async call delivers what compaction found
    assert [(r.found, r.keys) for r in reports.seen] == [("compaction", (("a", "two"),))]
    await store.close()
    again = EmbeddedStore(tmp_path)
    assert await again.get_many("a", ["one", "two"]) == {"one": b"first value"}
    assert not check_log(tmp_path).damaged and not check_log(tmp_path).torn_at
    await again.close()


def legacy_record(op: int, namespace: bytes, key: bytes, value: bytes) -> bytes:
    body = struct.pack("<BBHIq", op, len(namespace), len(key), len(value), 0)
    body += namespace + key + value
    return struct.pack("<I", zlib.crc32(body)) + body


async def test_a_log_of_the_earlier_format_is_read_and_rewritten(tmp_path: Path) -> None:
    (tmp_path / LOG_NAME).write_bytes(
        legacy_record(1, b"a", b"kept", b"1")
        + legacy_record(1, b"a", b"gone", b"2")
        + legacy_record(2, b"a", b"gone", b"")
        + legacy_record(1, b"b", b"other", b"3")
    )
    store = EmbeddedStore(tmp_path)
    assert await store.get_many("a", ["kept", "gone"]) == {"kept": b"1"}
    assert await store.get("b", "other") == b"3"
    await store.close()
    assert (tmp_path / LOG_NAME).read_bytes().startswith(MAGIC)
    assert check_log(tmp_path).records == 4
