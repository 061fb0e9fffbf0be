"""``roost webhook`` against a real server and a real receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from roost.settings import Settings
from tests.api.test_webhooks import Receiver, receivers
from tests.cli.test_commands import ok, roost

__all__ = ["receivers"]  # the fixture, used below


def test_add_list_ping_deliveries_remove(
    runner: CliRunner, live_server: Settings, receivers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = receivers(Receiver())
    monkeypatch.setenv("ROOST_WEBHOOK_SECRET", "shh")
    added = ok(runner, live_server, "webhook", "add", receiver.url, "-e", "instance.failed")
    assert added.startswith("added webhook ") and added.rstrip().endswith("(signed)")
    webhook_id = added.split()[2]
    listed = json.loads(ok(runner, live_server, "webhook", "list", "--json"))
    assert [(w["id"], w["events"], w["signed"]) for w in listed] == [
        (webhook_id, ["instance.failed"], True)
    ]
    assert "instance.failed" in ok(runner, live_server, "webhook", "list")
    assert ok(runner, live_server, "webhook", "ping", webhook_id).startswith("pinged")
    deadline = time.monotonic() + 10
    while not receiver.got:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    headers, body = receiver.got[0]
    assert headers["x-roost-signature-256"] == (
        "sha256=" + hmac.new(b"shh", body, hashlib.sha256).hexdigest()
    )
    while True:
        found = json.loads(ok(runner, live_server, "webhook", "deliveries", webhook_id, "--json"))
        if found and found[0]["status"] == "delivered":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "webhook.ping" in ok(runner, live_server, "webhook", "deliveries", webhook_id)
    bad = roost(runner, live_server, "webhook", "add", "http://x/", "-e", "nope")
    assert bad.exit_code == 1 and bad.stderr.strip().endswith("(UNKNOWN_EVENT)")
    assert ok(runner, live_server, "webhook", "rm", webhook_id).startswith("removed")
    gone = roost(runner, live_server, "webhook", "rm", webhook_id)
    assert gone.exit_code == 1 and gone.stderr.strip().endswith("(WEBHOOK_NOT_FOUND)")
