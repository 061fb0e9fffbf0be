"""The background job that POSTs alerts to the webhooks that want them.

It takes what ``commit`` added to the alert inbox, stores a delivery per hook that
wants it (``pending``), and sends each in a task of its own, at most
:data:`SENT_AT_ONCE` at a time: signed with HMAC-SHA256 when the hook has a secret,
tried again with backoff (1 s, 2 s, 4 s, ...) until a 2xx, then ``delivered``, or
``failed`` after the last attempt. Every attempt is recorded. Deliveries a previous
server left pending are taken up at start. Nothing waits on a receiver but its task.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from roost import __version__
from roost.domain.clock import utcnow
from roost.domain.webhooks import SIGNATURE_HEADER, Alert, Hook, body_of, retry_after, signature
from roost.failures import log_failure
from roost.jobs import JobStats
from roost.registry import webhooks as store
from roost.services.context import Context

SENT_AT_ONCE = 16
RELOAD_S = 30.0  # the hooks are read again at least this often
TIMEOUT_S = 5.0
MAX_ERROR = 500  # characters of a receiver's error kept
log = logging.getLogger("roost.webhooks")


@dataclass(frozen=True)
class Target:
    hook: Hook
    secret: str | None


class WebhookDispatcher:
    name = "webhooks"

    def __init__(self, ctx: Context, retry: Callable[[int], float | None] = retry_after) -> None:
        self._ctx = ctx
        self._retry = retry
        self._targets: dict[str, Target] = {}
        self._gate = asyncio.Semaphore(SENT_AT_ONCE)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.stats = JobStats()  # a run is one attempt

    async def run_forever(self) -> None:
        inbox = self._ctx.alerts
        try:
            await self._reload()
            await self._resume()
            while True:
                alerts = await inbox.take(RELOAD_S)
                if inbox.hooks_changed or not alerts:
                    await self._reload()
                if alerts and self._targets:
                    await self._dispatch(alerts)
        finally:
            for task in self._tasks:
                task.cancel()
            if self._client is not None:
                await self._client.aclose()

    async def _reload(self) -> None:
        self._ctx.alerts.hooks_changed = False
        try:
            rows = await self._ctx.registry.read(store.all_webhooks)
        except Exception as error:
            self._ctx.alerts.hooks_changed = True  # try again at the next turn
            log_failure(log, error, "could not read the webhooks")
            return
        box = self._ctx.box
        self._targets = {
            row.webhook_id: Target(
                Hook(
                    row.webhook_id,
                    row.url,
                    frozenset(row.events) if row.events else None,
                    frozenset(row.instances) if row.instances is not None else None,
                    frozenset(row.apps) if row.apps is not None else None,
                ),
                box.decrypt(row.secret_encrypted).decode() if row.secret_encrypted else None,
            )
            for row in rows
        }

    async def _resume(self) -> None:
        try:
            pending = await self._ctx.registry.read(store.pending_deliveries)
        except Exception as error:
            log_failure(log, error, "could not read the pending webhook deliveries")
            return
        for row in pending:
            target = self._targets.get(row.webhook_id)
            if target is not None:
                self._send(target, row.delivery_id, row.event, row.body.encode(), row.attempts)

    async def _dispatch(self, alerts: list[Alert]) -> None:
        rows, sends = [], []
        for alert in alerts:
            for target in self._targets.values():
                if not target.hook.wants(alert):
                    continue
                delivery_id = secrets.token_hex(8)
                body = body_of(delivery_id, target.hook.webhook_id, alert)
                rows.append(
                    {
                        "delivery_id": delivery_id,
                        "webhook_id": target.hook.webhook_id,
                        "event": alert.action,
                        "instance_id": alert.instance_id,
                        "body": body.decode(),
                        "status": store.PENDING,
                        "attempts": 0,
                        "created_at": utcnow(),
                    }
                )
                sends.append((target, delivery_id, alert.action, body))
        if not rows:
            return
        try:
            await self._ctx.registry.write(store.add_deliveries, rows)
        except Exception as error:  # sent all the same: an alert matters more than its record
            log_failure(log, error, "could not record %d webhook deliveries", len(rows))
        for send in sends:
            self._send(*send, 0)

    def _send(self, target: Target, delivery_id: str, event: str, body: bytes, done: int) -> None:
        task = asyncio.create_task(self._deliver(target, delivery_id, event, body, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, target: Target, delivery_id: str, event: str, body: bytes, attempts: int
    ) -> None:
        headers = {
            "content-type": "application/json",
            "user-agent": f"roost/{__version__}",
            "x-roost-event": event,
            "x-roost-delivery": delivery_id,
        }
        if target.secret is not None:
            headers[SIGNATURE_HEADER.lower()] = signature(target.secret, body)
        while True:
            async with self._gate:
                began = self._ctx.clock.monotonic()
                code, error = await self._post(target.hook.url, body, headers)
            attempts += 1
            delivered = code is not None and 200 <= code < 300
            self.stats.ran(self._ctx.clock.monotonic() - began, failed=not delivered)
            wait = None if delivered else self._retry(attempts)
            status = store.DELIVERED if delivered else store.PENDING if wait else store.FAILED
            if status == store.FAILED:
                log.warning(
                    "webhook %s gave up on delivery %s: %s",
                    target.hook.webhook_id,
                    delivery_id,
                    error,
                )
            try:
                await self._ctx.registry.write(
                    store.record_attempt,
                    delivery_id,
                    status=status,
                    attempts=attempts,
                    status_code=code,
                    error=error,
                    finished_at=None if status == store.PENDING else utcnow(),
                )
            except Exception as failure:
                log_failure(log, failure, "could not record webhook delivery %s", delivery_id)
            if wait is None:
                return
            await self._ctx.clock.sleep(wait)

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False, timeout=TIMEOUT_S)
        try:
            answer = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR]
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"answered {answer.status_code}: {answer.text}"[:MAX_ERROR]
