"""Alerts on their way to the webhooks: every committed event that is an alert
(``domain/webhooks.py``) is added here by ``commit`` and taken by the webhook job.
Adding never waits and never fails: past :data:`MAX_WAITING`, the oldest are dropped
(and counted), so a stuck receiver never holds up a change."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable

from roost.domain.webhooks import ALERT_EVENTS, PING, Alert

MAX_WAITING = 10_000
log = logging.getLogger("roost.webhooks")


class AlertInbox:
    def __init__(self) -> None:
        self._waiting: deque[Alert] = deque()
        self._arrived = asyncio.Event()
        self.dropped = 0
        self.hooks_changed = True  # the webhook job reads the hooks again when set

    def add(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            if alert.action not in ALERT_EVENTS and alert.action != PING:
                continue
            if len(self._waiting) >= MAX_WAITING:
                self._waiting.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("%d alerts dropped: the webhooks are not keeping up", self.dropped)
            self._waiting.append(alert)
        if self._waiting:
            self._arrived.set()

    async def take(self, within: float) -> list[Alert]:
        """What arrived, waiting up to ``within`` seconds for something to."""
        if not self._waiting:
            try:
                await asyncio.wait_for(self._arrived.wait(), within)
            except TimeoutError:
                return []
        self._arrived.clear()
        taken = list(self._waiting)
        self._waiting.clear()
        return taken
