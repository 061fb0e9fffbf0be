"""The embedded store inside a real ``roost serve``: acknowledged writes survive
``kill -9``, and memory stays within the budget however much is written."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from pathlib import Path

import httpx
import psutil

from tests.servers import free_port, server


async def test_every_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged: dict[str, bytes] = {}
    with server(home, port) as process:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            killed = asyncio.Event()

            async def writer(lane: int) -> None:
                n = 0
                while not killed.is_set():
                    key, value = f"lane{lane}/k{n}", os.urandom(64 + n % 512)
                    try:
                        response = await http.put(
                            f"/v1/cache/{key}", headers={"X-Instance-ID": "durable"}, content=value
                        )
                    except httpx.HTTPError:
                        return  # the server is gone: this write was never acknowledged
                    if response.status_code == 204:
                        acknowledged[key] = value
                    n += 1

            async def killer() -> None:
                while len(acknowledged) < 1500:
                    await asyncio.sleep(0.01)
                process.send_signal(signal.SIGKILL)  # in the middle of the load
                killed.set()

            await asyncio.gather(killer(), *(writer(lane) for lane in range(8)))
        process.wait(timeout=10)
    assert len(acknowledged) >= 1500
    port = free_port()
    with server(home, port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            keys = list(acknowledged)
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                body = (
                    await http.post(
                        "/v1/cache/batch/get?encoding=base64",
                        headers={"X-Instance-ID": "durable"},
                        json={"keys": chunk},
                    )
                ).json()
                assert body["missing"] == []
                for key in chunk:
                    assert base64.b64decode(body["entries"][key]) == acknowledged[key]


async def test_memory_stays_within_the_budget(tmp_path: Path) -> None:
    budget = 16 * 1024 * 1024
    home, port = tmp_path / "home", free_port()
    with server(home, port, ROOST_CACHE_MEMORY_BYTES=str(budget)) as process:
        memory = psutil.Process(process.pid)
        value = os.urandom(64 * 1024)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            headers = {"X-Instance-ID": "big"}
            for n in range(20):  # warm up: imports, pools, first allocations
                await http.put(f"/v1/cache/warm{n}", headers=headers, content=value)
                await http.get(f"/v1/cache/warm{n}", headers=headers)
            before = memory.memory_info().rss
            for n in range(1024):  # 64 MiB: four times the budget
                response = await http.put(
                    f"/v1/cache/k{n}", headers=headers, content=value[:-4] + n.to_bytes(4, "big")
                )
                assert response.status_code == 204
            for n in range(0, 1024, 7):
                got = await http.get(f"/v1/cache/k{n}", headers=headers)
                assert got.content[-4:] == n.to_bytes(4, "big")
            grown = memory.memory_info().rss - before
    assert grown <= budget + 32 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB"
