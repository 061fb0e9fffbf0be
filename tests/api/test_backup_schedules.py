"""Scheduled backups on an injected clock, with real archives: due runs taken, missed
runs made up once, rotation by the policy (manual backups kept unless they opt in), a
failed run retried once and only then an alert."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from roost.services.backup_schedules import BackupScheduler
from roost.services.context import Context
from tests.api.test_webhooks import Receiver, receivers, until

__all__ = ["receivers"]  # the fixture, used by name

pytestmark = pytest.mark.slow


class FakeNow:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


async def app_with(client: httpx.AsyncClient, **backup: Any) -> None:
    spec = {"name": "world", "version": "1", "backup": backup}
    added = await client.post("/v1/apps", json=spec)
    assert added.status_code in (200, 201), added.text


async def instance(client: httpx.AsyncClient, instance_id: str = "w1") -> datetime:
    made = await client.post("/v1/instances", json={"app": "world", "instance_id": instance_id})
    assert made.status_code == 201, made.text
    return datetime.fromisoformat(made.json()["created_at"])


async def listed(client: httpx.AsyncClient, instance_id: str = "w1") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.get(f"/v1/instances/{instance_id}/backups")).json()[
        "backups"
    ]
    return found


async def tick(scheduler: BackupScheduler) -> list[str]:
    started = await scheduler.round()
    await scheduler.settle()
    return started


async def test_a_due_run_is_taken_and_a_missed_one_made_up_once(
    client: httpx.AsyncClient, context: Context
) -> None:
    await app_with(client, every="1h")
    now = FakeNow(await instance(client))
    scheduler = BackupScheduler(context, now=now)
    now.advance(minutes=59)
    assert await tick(scheduler) == []
    now.advance(minutes=2)
    assert await tick(scheduler) == ["w1"]
    [first] = await listed(client)
    assert (first["kind"], first["status"]) == ("scheduled", "completed")
    assert datetime.fromisoformat(first["created_at"]) == now.at
    assert await tick(scheduler) == []  # not due again yet
    now.advance(hours=10)  # the server was down: ten runs missed
    assert await tick(scheduler) == ["w1"]
    assert await tick(scheduler) == []
    assert len(await listed(client)) == 2


async def test_rotation_keeps_the_policy_s_backups_and_every_manual_one(
    client: httpx.AsyncClient, context: Context
) -> None:
    await app_with(client, every="1h", keep_last=2)
    now = FakeNow(await instance(client))
    manual = await client.post("/v1/instances/w1/backups", json={"note": "by hand"})
    assert manual.status_code == 202
    await context.background.settle(10)
    scheduler = BackupScheduler(context, now=now)
    for _ in range(4):
        now.advance(hours=1, seconds=1)
        assert await tick(scheduler) == ["w1"]
    backups = await listed(client)
    kinds = [b["kind"] for b in backups]
    assert kinds.count("scheduled") == 2 and kinds.count("manual") == 1
    on_disk = sorted(p.name for p in (context.home.path / "backups" / "w1").iterdir())
    assert on_disk == sorted(f"{b['name']}.tar.zst" for b in backups)
    events = (await client.get("/v1/events", params={"instance_id": "w1"})).json()["events"]
    pruned = [e["details"]["names"] for e in events if e["action"] == "backup.pruned"]
    assert len(pruned) == 2 and all(len(names) == 1 for names in pruned)


async def test_manual_backups_rotate_when_they_opt_in(
    client: httpx.AsyncClient, context: Context
) -> None:
    await app_with(client, every="1h", keep_last=1, rotate_manual=True)
    now = FakeNow(await instance(client))
    assert (await client.post("/v1/instances/w1/backups")).status_code == 202
    await context.background.settle(10)
    now.advance(hours=2)
    await tick(BackupScheduler(context, now=now))
    assert [b["kind"] for b in await listed(client)] == ["scheduled"]


async def test_an_instance_s_config_sets_its_own_schedule(
    client: httpx.AsyncClient, context: Context
) -> None:
    await app_with(client)  # the app schedules nothing
    created = await instance(client)
    await instance(client, "w2")
    patched = await client.patch("/v1/instances/w2/config", json={"backup": {"cron": "0 4 * * *"}})
    assert patched.status_code == 200, patched.text
    now = FakeNow(created + timedelta(days=1, hours=1))
    assert await tick(BackupScheduler(context, now=now)) == ["w2"]


async def test_a_failed_run_is_retried_once_and_a_retry_that_passes_is_no_alert(
    client: httpx.AsyncClient, context: Context
) -> None:
    # the pre hook fails the first time it runs for an instance, then passes
    flaky = ["sh", "-c", "test -e data/tried || { mkdir -p data; touch data/tried; exit 3; }"]
    await app_with(client, every="1h", pre=flaky)
    now = FakeNow(await instance(client))
    now.advance(hours=1)
    await tick(BackupScheduler(context, now=now))
    backups = await listed(client)
    assert [(b["status"], b["note"]) for b in backups] == [
        ("completed", f"retry of {backups[1]['name']}"),
        ("failed", None),
    ]
    assert backups[1]["error"] == "backup.pre exited 3"
    events = (await client.get("/v1/events", params={"instance_id": "w1"})).json()["events"]
    actions = [e["action"] for e in events]
    assert actions.count("backup.attempt_failed") == 1 and "backup.failed" not in actions


async def test_a_run_that_fails_twice_is_one_alert(
    client: httpx.AsyncClient, context: Context, receivers: Any
) -> None:
    receiver = receivers(Receiver())
    hook = await client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["backup.failed"]}
    )
    assert hook.status_code == 201, hook.text
    await app_with(client, every="1h", pre=["sh", "-c", "echo disk on fire >&2; exit 1"])
    now = FakeNow(await instance(client))
    now.advance(hours=1)
    await tick(BackupScheduler(context, now=now))
    assert [b["status"] for b in await listed(client)] == ["failed", "failed"]
    await until(lambda: len(receiver.got) == 1)
    await asyncio.sleep(0.3)  # and no second one
    [(_, body)] = receiver.got
    alert = json.loads(body)
    assert (alert["event"], alert["instance_id"]) == ("backup.failed", "w1")
    assert "disk on fire" in alert["details"]["error"]
    events = (await client.get("/v1/events", params={"instance_id": "w1"})).json()["events"]
    actions = [e["action"] for e in events]
    assert actions.count("backup.attempt_failed") == 1 and actions.count("backup.failed") == 1


async def test_a_bad_schedule_in_a_spec_is_refused_with_its_place(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.post(
        "/v1/apps", json={"name": "world", "backup": {"cron": "every night"}}
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_SPEC")
    assert "world.backup.cron: 'every night' is not a cron expression" in refused.text


async def test_a_bad_schedule_in_an_instance_s_config_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await app_with(client)
    await instance(client)
    patched = await client.patch("/v1/instances/w1/config", json={"backup": {"every": "5s"}})
    assert (patched.status_code, patched.json()["code"]) == (400, "INVALID_SCHEDULE")
    made = await client.post(
        "/v1/instances", json={"app": "world", "config": {"backup": {"keep_daily": "7"}}}
    )
    assert (made.status_code, made.json()["code"]) == (400, "INVALID_SCHEDULE")
