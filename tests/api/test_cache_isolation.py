"""Property: no read, list, batch or delete ever crosses from one instance to another,
whatever the keys contain (other instances' ids, separators, '..', braces, any UTF-8)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TRICKY = ["a", "b", "a:b", "{a}", "}:v:", "..", "../b", "a/b", ":", "v:", "k:", "roost:{b}:v:x"]
keys = st.one_of(
    st.sampled_from(TRICKY),
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=12,
    ),
)
operations = st.lists(
    st.tuples(
        st.sampled_from(["put", "get", "delete", "batch_set", "batch_get", "batch_delete", "list"]),
        st.sampled_from([0, 1, 2]),
        st.lists(keys, min_size=1, max_size=3),
        st.binary(max_size=8),
    ),
    max_size=25,
)


def path(key: str) -> str:
    return "/v1/cache/" + quote(key, safe="").replace(".", "%2E")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_no_operation_crosses_instances(
    http: httpx.AsyncClient, ops: list[tuple[str, int, list[str], bytes]]
) -> None:
    client = http
    run = uuid.uuid4().hex[:8]
    # instance ids that appear inside each other's keys: "a", "b" and a prefix of this run
    instances = [f"a-{run}", f"b-{run}", f"a-{run}-b"]
    model: dict[tuple[int, str], bytes] = {}
    for op, who, chosen, value in ops:
        headers = {"X-Instance-ID": instances[who]}
        key = chosen[0]
        if op == "put":
            assert (await client.put(path(key), headers=headers, content=value)).status_code == 204
            model[(who, key)] = value
        elif op == "get":
            response = await client.get(path(key), headers=headers)
            expected = model.get((who, key))
            assert (response.status_code == 200) == (expected is not None)
            if expected is not None:
                assert response.content == expected
        elif op == "delete":
            response = await client.delete(path(key), headers=headers)
            assert (response.status_code == 204) == ((who, key) in model)
            model.pop((who, key), None)
        elif op == "batch_set":
            entries = {k: value.hex() for k in chosen}
            await client.post("/v1/cache/batch/set", headers=headers, json={"entries": entries})
            model.update({(who, k): v.encode() for k, v in entries.items()})
        elif op == "batch_get":
            body: dict[str, Any] = (
                await client.post(
                    "/v1/cache/batch/get?encoding=base64", headers=headers, json={"keys": chosen}
                )
            ).json()
            assert set(body["entries"]) == {k for k in chosen if (who, k) in model}
        elif op == "batch_delete":
            deleted = (
                await client.post("/v1/cache/batch/delete", headers=headers, json={"keys": chosen})
            ).json()
            assert deleted["deleted"] == len({k for k in chosen if (who, k) in model})
            for k in chosen:
                model.pop((who, k), None)
        else:
            listed = (await client.get("/v1/cache", headers=headers, params={"limit": 1000})).json()
            assert listed["keys"] == sorted((k for (w, k) in model if w == who), key=str.encode)
    for index, instance in enumerate(instances):
        listed = (
            await client.get(
                "/v1/cache", headers={"X-Instance-ID": instance}, params={"limit": 1000}
            )
        ).json()
        assert listed["keys"] == sorted((k for (w, k) in model if w == index), key=str.encode)


async def test_an_instance_id_ending_in_a_newline_is_refused_and_never_made(
    http: httpx.AsyncClient,
) -> None:
    for instance_id in ("tenant-b\n", "tenant-b\r", "tenant-b\t", "tenant-b\x00"):
        response = await http.put("/v1/cache/k", params={"instance_id": instance_id}, content=b"v")
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "INVALID_INSTANCE_ID"
    created = await http.post("/v1/instances", json={"instance_id": "tenant-c\n"})
    assert created.json()["code"] == "INVALID_INSTANCE_ID"
    ids = [i["instance_id"] for i in (await http.get("/v1/instances")).json()["instances"]]
    assert not any(i.startswith("tenant-") for i in ids)
