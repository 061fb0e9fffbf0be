"""The backend contract, run against every backend."""

from __future__ import annotations

import asyncio
import time

import pytest

from roost.cache.backend import (
    CacheBackend,
    Item,
    Limits,
    StorageQuotaExceeded,
    Usage,
    entry_size,
)

ROOMY = Limits(max_bytes=10**9, max_keys=10**6)


async def test_put_get_overwrite_delete(store: CacheBackend) -> None:
    assert await store.get("a", "k") is None
    await store.put("a", "k", b"one", None, ROOMY)
    assert await store.get("a", "k") == b"one"
    await store.put("a", "k", b"two", None, ROOMY)
    assert await store.get("a", "k") == b"two"
    assert await store.delete("a", "k") is True
    assert await store.delete("a", "k") is False
    assert await store.get("a", "k") is None


async def test_any_bytes_come_back_exactly(store: CacheBackend) -> None:
    values = [b"", b"\x00\xff\x80binary\n", bytes(range(256)) * 40, "héllo ✓".encode()]
    for index, value in enumerate(values):
        await store.put("a", f"v{index}", value, None, ROOMY)
    for index, value in enumerate(values):
        assert await store.get("a", f"v{index}") == value


async def test_namespaces_are_isolated(store: CacheBackend) -> None:
    await store.put("one", "shared", b"1", None, ROOMY)
    await store.put("two", "shared", b"2", None, ROOMY)
    await store.put("one", "two:shared", b"crafted", None, ROOMY)
    assert await store.get("one", "shared") == b"1"
    assert await store.get("two", "shared") == b"2"
    assert await store.get("two", "two:shared") is None
    assert await store.delete("two", "shared")
    assert await store.get("one", "shared") == b"1"
    assert await store.list_keys("two", "", None, 10) == []


async def test_get_many_reports_only_what_exists(store: CacheBackend) -> None:
    await store.put_many("a", {"x": b"1", "y": b"2"}, None, ROOMY)
    assert await store.get_many("a", ["x", "y", "z"]) == {"x": b"1", "y": b"2"}
    assert await store.get_many("b", ["x"]) == {}
    assert await store.get_many("a", []) == {}


async def test_list_keys_in_byte_order_with_prefix_cursor_and_limit(store: CacheBackend) -> None:
    keys = ["b", "a/2", "a/10", "a/1", "é", "a", "ab", "z\u4e2d"]
    await store.put_many("n", {key: b"." for key in keys}, None, ROOMY)
    assert await store.list_keys("n", "", None, 100) == sorted(keys, key=str.encode)
    assert await store.list_keys("n", "a/", None, 100) == ["a/1", "a/10", "a/2"]
    assert await store.list_keys("n", "a/", None, 2) == ["a/1", "a/10"]
    assert await store.list_keys("n", "a/", "a/10", 2) == ["a/2"]
    assert await store.list_keys("n", "", "b", 100) == ["z\u4e2d", "é"]
    walked: list[str] = []
    after = None
    while page := await store.list_keys("n", "", after, 3):
        walked += page
        after = page[-1]
    assert walked == sorted(keys, key=str.encode)


async def test_ttl_expires_and_is_reclaimed(store: CacheBackend) -> None:
    await store.put("t", "short", b"12345", 0.2, ROOMY)
    await store.put("t", "long", b"x", 60, ROOMY)
    await store.put("t", "forever", b"y", None, ROOMY)
    assert await store.get("t", "short") == b"12345"
    await asyncio.sleep(0.3)
    assert await store.get("t", "short") is None
    assert await store.get_many("t", ["short", "long"]) == {"long": b"x"}
    assert await store.list_keys("t", "", None, 10) == ["forever", "long"]
    expected = entry_size("long", b"x") + entry_size("forever", b"y")
    assert await store.usage("t") == Usage(expected, 2)


async def test_a_put_without_ttl_clears_an_earlier_ttl(store: CacheBackend) -> None:
    await store.put("t", "k", b"1", 0.2, ROOMY)
    await store.put("t", "k", b"2", None, ROOMY)
    await asyncio.sleep(0.3)
    assert await store.get("t", "k") == b"2"
    assert await store.usage("t") == Usage(entry_size("k", b"2"), 1)


async def test_expire_leaves_only_what_still_lives(store: CacheBackend) -> None:
    await store.put("x", "short", b"12345", 0.2, ROOMY)
    await store.put("x", "kept", b"k", None, ROOMY)
    await asyncio.sleep(0.3)
    reclaimed = await store.expire()
    assert reclaimed in (0, 1)  # 0: the backend's server expires keys itself
    assert await store.usage("x") == Usage(entry_size("kept", b"k"), 1)
    assert await store.list_keys("x", "", None, 10) == ["kept"]


async def test_usage_is_exact_across_overwrites_and_deletes(store: CacheBackend) -> None:
    await store.put("u", "a", b"12345", None, ROOMY)
    await store.put("u", "b", b"1", None, ROOMY)
    await store.put("u", "a", b"12", None, ROOMY)
    await store.delete("u", "b")
    await store.delete("u", "missing")
    assert await store.usage("u") == Usage(entry_size("a", b"12"), 1)
    assert await store.usage("nobody") == Usage(0, 0)


async def test_key_limit_refuses_and_writes_nothing(store: CacheBackend) -> None:
    limits = Limits(max_bytes=10**6, max_keys=2)
    await store.put_many("q", {"a": b"1", "b": b"2"}, None, limits)
    await store.put("q", "a", b"overwrite is fine", None, limits)
    with pytest.raises(StorageQuotaExceeded) as refused:
        await store.put("q", "c", b"3", None, limits)
    assert refused.value.status == 507
    assert refused.value.code == "STORAGE_QUOTA_EXCEEDED"
    assert await store.get("q", "c") is None
    assert (await store.usage("q")).keys == 2


async def test_byte_limit_counts_key_and_value_and_batches_are_all_or_nothing(
    store: CacheBackend,
) -> None:
    limits = Limits(max_bytes=20, max_keys=100)
    await store.put("q", "k1", b"12345678", None, limits)  # 10 bytes
    with pytest.raises(StorageQuotaExceeded):
        await store.put_many("q", {"k2": b"1234", "k3": b"12345"}, None, limits)  # 6 + 7 > 10
    assert await store.get_many("q", ["k2", "k3"]) == {}
    await store.put("q", "k2", b"12345678", None, limits)  # exactly 20
    assert await store.usage("q") == Usage(20, 2)
    await store.put("q", "k1", b"1234567", None, limits)  # shrinking is always allowed
    assert await store.usage("q") == Usage(19, 2)


async def test_concurrent_writers_never_pass_the_limit(store: CacheBackend) -> None:
    limits = Limits(max_bytes=10**6, max_keys=25)
    results = await asyncio.gather(
        *(store.put("c", f"key{n}", b"v", None, limits) for n in range(60)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, StorageQuotaExceeded)]
    assert len(refused) == 35
    assert (await store.usage("c")).keys == 25
    assert len(await store.list_keys("c", "", None, 100)) == 25


async def test_delete_many_and_drop(store: CacheBackend) -> None:
    await store.put_many("d", {f"k{n}": b"v" for n in range(10)}, None, ROOMY)
    await store.put("other", "k1", b"keep", None, ROOMY)
    assert await store.delete_many("d", ["k1", "k2", "k1", "nope"]) == 2
    assert (await store.usage("d")).keys == 8
    await store.drop("d")
    assert await store.usage("d") == Usage(0, 0)
    assert await store.list_keys("d", "", None, 10) == []
    assert await store.get("d", "k3") is None
    assert await store.get("other", "k1") == b"keep"
    await store.put("d", "again", b"1", None, ROOMY)
    assert await store.usage("d") == Usage(entry_size("again", b"1"), 1)


async def test_a_snapshot_holds_every_live_key_with_its_value_and_expiry(
    store: CacheBackend,
) -> None:
    await store.put_many("s", {"b": b"\x00two", "a": b"one", "é": b""}, None, ROOMY)
    await store.put("s", "short", b"ttl", 60, ROOMY)
    await store.put("other", "a", b"not mine", None, ROOMY)
    before = int(time.time() * 1000)
    items = await store.snapshot("s")
    assert [(i.key, i.value) for i in items] == [
        ("a", b"one"),
        ("b", b"\x00two"),
        ("short", b"ttl"),
        ("é", b""),
    ]
    assert [i.expires_ms for i in items if i.key != "short"] == [0, 0, 0]
    (short,) = [i for i in items if i.key == "short"]
    assert before + 58_000 < short.expires_ms <= before + 61_000
    assert await store.snapshot("empty") == []


async def test_a_snapshot_sees_no_write_that_lands_while_it_is_taken(store: CacheBackend) -> None:
    await store.put_many("r", {f"k{n:03}": b"old" for n in range(300)}, None, ROOMY)

    async def rewrite_all_many_times() -> None:
        for round in range(30):
            await store.put_many("r", {f"k{n:03}": b"%d" % round for n in range(300)}, None, ROOMY)

    snapshot, _ = await asyncio.gather(store.snapshot("r"), rewrite_all_many_times())
    assert len(snapshot) == 300
    assert len({item.value for item in snapshot}) == 1  # all old or all new, never a mix


async def test_replace_makes_the_namespace_hold_exactly_the_items(store: CacheBackend) -> None:
    await store.put_many("p", {"stale": b"x", "a": b"old"}, None, ROOMY)
    now = int(time.time() * 1000)
    items = [
        Item("a", b"restored"),
        Item("later", b"t", now + 60_000),
        Item("gone", b"expired already", now - 1),
    ]
    await store.replace("p", items, ROOMY, now)
    assert await store.list_keys("p", "", None, 10) == ["a", "later"]
    assert await store.get("p", "a") == b"restored"
    (later,) = [i for i in await store.snapshot("p") if i.key == "later"]
    assert now + 58_000 < later.expires_ms <= now + 61_000
    assert await store.usage("p") == Usage(
        entry_size("a", b"restored") + entry_size("later", b"t"), 2
    )


async def test_replace_over_the_limits_changes_nothing(store: CacheBackend) -> None:
    await store.put("q", "keep", b"1", None, ROOMY)
    tight = Limits(max_bytes=10**6, max_keys=2)
    with pytest.raises(StorageQuotaExceeded):
        await store.replace("q", [Item(f"k{n}", b"v") for n in range(3)], tight, 0)
    assert await store.get("q", "keep") == b"1"
