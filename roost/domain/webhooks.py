"""Webhooks (pure): which events are alerts, which hooks an event goes to, the body's
signature, and when a failed delivery is tried again."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# the events a webhook may ask for (and gets, when it names none)
ALERT_EVENTS = (
    "instance.health",  # a change of health
    "instance.failed",  # given up: the start limit, or a failure not restarted
    "service.exited",  # an exit nobody asked for (``oom_killed`` says when it was the kernel's)
    "backup.failed",
)
PING = "webhook.ping"
SIGNATURE_HEADER = "X-Roost-Signature-256"
MAX_ATTEMPTS = 6
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 300.0


@dataclass(frozen=True)
class Alert:
    """An event, as a webhook is told of it."""

    action: str
    instance_id: str | None
    app: str | None
    outcome: str
    details: Mapping[str, Any]
    at: str  # RFC 3339


@dataclass(frozen=True)
class Hook:
    webhook_id: str
    url: str
    events: frozenset[str] | None  # None: every alert
    instances: frozenset[str] | None  # None: not narrowed by instance
    apps: frozenset[str] | None

    def wants(self, alert: Alert) -> bool:
        if alert.action == PING:
            return alert.details.get("webhook") == self.webhook_id
        if alert.action not in (self.events or ALERT_EVENTS):
            return False
        if self.instances is None and self.apps is None:
            return True
        return (alert.instance_id is not None and alert.instance_id in (self.instances or ())) or (
            alert.app is not None and alert.app in (self.apps or ())
        )


def body_of(delivery_id: str, webhook_id: str, alert: Alert) -> bytes:
    """What is POSTed: the same bytes at every attempt."""
    document = {
        "delivery": delivery_id,
        "webhook": webhook_id,
        "event": alert.action,
        "instance_id": alert.instance_id,
        "app": alert.app,
        "outcome": alert.outcome,
        "details": dict(alert.details),
        "at": alert.at,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of the body (as GitHub signs its hooks)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after(attempts: int) -> float | None:
    """Seconds before the next attempt after ``attempts`` failed ones; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return float(min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** (attempts - 1)))
