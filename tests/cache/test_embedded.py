"""What only the embedded store promises: it survives restarts and torn writes, stays
within its memory budget, and compacts its log."""

from __future__ import annotations

import os
from pathlib import Path

from roost.cache.backend import Limits, Usage, entry_size
from roost.cache.embedded import LOG_NAME, EmbeddedStore

ROOMY = Limits(max_bytes=10**10, max_keys=10**7)


async def test_everything_written_is_there_after_reopening_without_close(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    await store.put_many("a", {f"k{n}": f"v{n}".encode() for n in range(100)}, None, ROOMY)
    await store.put("a", "k1", b"changed", None, ROOMY)
    await store.delete("a", "k2")
    await store.put("b", "k1", b"other", None, ROOMY)
    await store.put("gone", "x", b"1", None, ROOMY)
    await store.drop("gone")
    usage = await store.usage("a")
    # no close(): as after kill -9, only what write(2) put in the kernel is there
    again = EmbeddedStore(tmp_path)
    assert await again.get("a", "k1") == b"changed"
    assert await again.get("a", "k2") is None
    assert await again.get("a", "k99") == b"v99"
    assert await again.get("b", "k1") == b"other"
    assert await again.usage("gone") == Usage(0, 0)
    assert await again.usage("a") == usage
    await again.close()


async def test_a_torn_record_at_the_end_is_cut_off(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    await store.put("a", "good", b"kept", None, ROOMY)
    size = store.log_bytes
    await store.close()
    with open(tmp_path / LOG_NAME, "ab") as log:
        log.write(b"\x13\x37half a record")
    again = EmbeddedStore(tmp_path)
    assert await again.get("a", "good") == b"kept"
    assert os.path.getsize(tmp_path / LOG_NAME) == size
    await again.put("a", "after", b"fine", None, ROOMY)
    await again.close()
    third = EmbeddedStore(tmp_path)
    assert await third.get_many("a", ["good", "after"]) == {"good": b"kept", "after": b"fine"}
    await third.close()


async def test_expired_keys_do_not_come_back_after_a_restart(tmp_path: Path) -> None:
    now = [1000.0]
    store = EmbeddedStore(tmp_path, clock=lambda: now[0])
    await store.put("a", "ttl", b"1", 10, ROOMY)
    await store.put("a", "keep", b"2", None, ROOMY)
    now[0] += 11
    again = EmbeddedStore(tmp_path, clock=lambda: now[0])
    assert await again.get("a", "ttl") is None
    assert await again.usage("a") == Usage(entry_size("keep", b"2"), 1)


async def test_expire_reclaims_on_its_own_what_has_passed(tmp_path: Path) -> None:
    now = [1000.0]
    store = EmbeddedStore(tmp_path, clock=lambda: now[0])
    await store.put_many("a", {"one": b"1", "two": b"2"}, 10, ROOMY)
    await store.put("b", "keep", b"3", None, ROOMY)
    assert await store.expire() == 0
    now[0] += 11
    assert await store.expire() == 2  # nothing read them: the timer alone reclaims them
    assert await store.expire() == 0
    assert await store.usage("a") == Usage(0, 0)
    assert await store.get("b", "keep") == b"3"


async def test_values_past_the_memory_budget_are_read_from_disk(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, memory_budget=64 * 1024)
    values = {f"k{n}": os.urandom(4096) for n in range(100)}  # 400 KiB, six times the budget
    for key, value in values.items():
        await store.put("a", key, value, None, ROOMY)
        assert store.cached_bytes <= 64 * 1024
    for key, value in values.items():
        assert await store.get("a", key) == value
        assert store.cached_bytes <= 64 * 1024
    await store.close()


async def test_compaction_keeps_exactly_the_live_data(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    for round_ in range(5):
        await store.put_many("a", {f"k{n}": bytes([round_]) * 100 for n in range(50)}, 3600, ROOMY)
    await store.delete_many("a", [f"k{n}" for n in range(25)])
    before = store.log_bytes
    store.compact()
    assert store.log_bytes < before / 5
    assert await store.get("a", "k30") == bytes([4]) * 100
    await store.put("a", "new", b"after compaction", None, ROOMY)
    again = EmbeddedStore(tmp_path)
    assert len(await again.list_keys("a", "", None, 100)) == 26
    assert await again.get("a", "new") == b"after compaction"
    assert await again.usage("a") == await store.usage("a")
