"""Webhooks against a real HTTP receiver the test starts: alerts of real processes
delivered and signed, retries with backoff, giving up, a hanging receiver holding up
no one, filters, deliveries taken up again by the next server, and refusals."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from roost.api.app import create_app
from roost.services.context import Context
from roost.services.webhook_dispatch import WebhookDispatcher
from roost.settings import Settings
from tests.conftest import opened_context

pytestmark = pytest.mark.slow
SECRET = "hook-secret"


@dataclass
class Receiver:
    """An HTTP server that records what it is sent and answers ``statuses`` in turn
    (then 200), or hangs for ``hang`` seconds first."""

    statuses: list[int] = field(default_factory=list)
    hang: float = 0.0
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.hang:
                    time.sleep(receiver.hang)
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"nope" if status >= 300 else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receivers() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(receiver: Receiver) -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        servers.append(server)
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def fast(attempts: int) -> float | None:
    return 0.05 * attempts if attempts < 3 else None


@pytest.fixture
async def hooked(settings: Settings) -> AsyncIterator[Context]:
    """A context whose webhook job retries fast and gives up after three attempts."""
    async with opened_context(
        settings, jobs=[lambda ctx: WebhookDispatcher(ctx, retry=fast)]
    ) as ctx:
        yield ctx


@pytest.fixture
async def http(hooked: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(context=hooked))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


CRASHER = {
    "name": "crash",
    "version": "1",
    "services": {
        "main": {
            "command": [sys.executable, "-c", "import time; time.sleep(0.3); raise SystemExit(3)"],
            "restart": "no",
        }
    },
}


async def add(http: httpx.AsyncClient, **body: Any) -> str:
    made = await http.post("/v1/webhooks", json=body)
    assert made.status_code == 201, made.text
    webhook_id: str = made.json()["id"]
    return webhook_id


async def crash(http: httpx.AsyncClient, instance_id: str) -> None:
    if (await http.get("/v1/apps/crash")).status_code == 404:
        assert (await http.post("/v1/apps", json=CRASHER)).status_code == 201
    created = await http.post("/v1/instances", json={"app": "crash", "instance_id": instance_id})
    assert created.status_code == 201, created.text
    assert (await http.post(f"/v1/instances/{instance_id}/start")).status_code == 200


async def until(check: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def deliveries(http: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    got = await http.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert got.status_code == 200, got.text
    found: list[dict[str, Any]] = got.json()["deliveries"]
    return found


async def settled(http: httpx.AsyncClient, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """The hook's deliveries once ``count`` of them are no longer pending."""
    for _ in range(200):
        found = await deliveries(http, webhook_id)
        if len([d for d in found if d["status"] != "pending"]) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"still pending: {found}")


async def test_alerts_of_a_crashing_service_are_delivered_signed(
    http: httpx.AsyncClient, receivers: Any
) -> None:
    receiver = receivers(Receiver())
    webhook_id = await add(http, url=receiver.url, secret=SECRET)
    await crash(http, "c1")
    await until(lambda: len(receiver.got) >= 2)
    events = {}
    for headers, body in receiver.got:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-roost-signature-256"] == expected
        assert headers["content-type"] == "application/json"
        document = json.loads(body)
        assert headers["x-roost-event"] == document["event"]
        assert headers["x-roost-delivery"] == document["delivery"]
        assert (document["webhook"], document["instance_id"], document["app"]) == (
            webhook_id,
            "c1",
            "crash",
        )
        events[document["event"]] = document
    assert set(events) == {"service.exited", "instance.failed"}
    exited = events["service.exited"]["details"]
    assert (exited["exit_code"], exited["then"], exited["oom_killed"]) == (3, "gave up", False)
    found = await settled(http, webhook_id, 2)
    assert {(d["event"], d["status"], d["attempts"], d["last_status_code"]) for d in found} == {
        ("service.exited", "delivered", 1, 200),
        ("instance.failed", "delivered", 1, 200),
    }


async def test_a_failing_receiver_is_retried_then_given_up(
    http: httpx.AsyncClient, receivers: Any
) -> None:
    flaky = receivers(Receiver(statuses=[500, 503]))  # then 200
    broken = receivers(Receiver(statuses=[500] * 10))
    flaky_id = await add(http, url=flaky.url, events=["instance.failed"])
    broken_id = await add(http, url=broken.url, events=["instance.failed"])
    await crash(http, "c1")
    await until(lambda: len(flaky.got) == 3 and len(broken.got) == 3)
    [delivered] = await settled(http, flaky_id, 1)
    assert (delivered["status"], delivered["attempts"], delivered["last_error"]) == (
        "delivered",
        3,
        None,
    )
    assert len({body for _, body in flaky.got}) == 1  # the same body at every attempt
    [failed] = await settled(http, broken_id, 1)
    assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", 3, 500)
    assert failed["last_error"] == "answered 500: nope" and failed["finished_at"]
    assert "x-roost-signature-256" not in flaky.got[0][0]  # no secret: not signed


async def test_a_hanging_receiver_holds_up_no_one(http: httpx.AsyncClient, receivers: Any) -> None:
    hanging = receivers(Receiver(hang=3))
    quick = receivers(Receiver())
    await add(http, url=hanging.url)
    await add(http, url=quick.url)
    began = time.monotonic()
    await crash(http, "c1")
    await until(lambda: len(quick.got) == 2, within=2)
    assert (await http.get("/v1/instances/c1")).status_code == 200
    assert time.monotonic() - began < 2.5 and hanging.got == []


async def test_hooks_get_only_what_they_ask_for(http: httpx.AsyncClient, receivers: Any) -> None:
    mine = receivers(Receiver())
    by_app = receivers(Receiver())
    exits = receivers(Receiver())
    await add(http, url=mine.url, instances=["c2"])
    await add(http, url=by_app.url, apps=["other"])
    await add(http, url=exits.url, events=["service.exited"])
    await crash(http, "c1")
    await crash(http, "c2")
    await until(lambda: len(mine.got) == 2 and len(exits.got) == 2)
    await asyncio.sleep(0.2)
    assert {json.loads(body)["instance_id"] for _, body in mine.got} == {"c2"}
    assert {json.loads(body)["event"] for _, body in exits.got} == {"service.exited"}
    assert by_app.got == []


async def test_ping_list_remove_and_refusals(http: httpx.AsyncClient, receivers: Any) -> None:
    receiver = receivers(Receiver())
    webhook_id = await add(http, url=receiver.url, events=["instance.health"], secret="s")
    listed = (await http.get("/v1/webhooks")).json()["webhooks"]
    assert [(w["id"], w["signed"], w["events"]) for w in listed] == [
        (webhook_id, True, ["instance.health"])
    ]
    assert all("secret" not in w for w in listed)  # never shown
    assert (await http.post(f"/v1/webhooks/{webhook_id}/ping")).status_code == 202
    await until(lambda: len(receiver.got) == 1)
    assert json.loads(receiver.got[0][1])["event"] == "webhook.ping"
    for body, code in (
        ({"url": "ftp://x/"}, "INVALID_URL"),
        ({"url": "http://x/\n"}, "INVALID_URL"),
        ({"url": "http://x/", "events": ["instance.created"]}, "UNKNOWN_EVENT"),
        ({"url": "http://x/", "instances": ["bad id"]}, "INVALID_INSTANCE_ID"),
        ({"url": "http://x/", "secret": ""}, "INVALID_SECRET"),
    ):
        refused = await http.post("/v1/webhooks", json=body)
        assert (refused.status_code, refused.json()["code"]) == (400, code), body
    extra = await http.post("/v1/webhooks", json={"url": "http://x/", "extra": 1})
    assert (extra.status_code, extra.json()["code"]) == (422, "VALIDATION_ERROR")
    assert (await http.delete(f"/v1/webhooks/{webhook_id}")).status_code == 204
    for method, path in (
        ("DELETE", f"/v1/webhooks/{webhook_id}"),
        ("GET", f"/v1/webhooks/{webhook_id}/deliveries"),
        ("POST", f"/v1/webhooks/{webhook_id}/ping"),
    ):
        gone = await http.request(method, path)
        assert (gone.status_code, gone.json()["code"]) == (404, "WEBHOOK_NOT_FOUND")


async def test_the_next_server_takes_up_what_was_pending(
    settings: Settings, receivers: Any
) -> None:
    receiver = receivers(Receiver(statuses=[500] * 2))
    slow = [lambda ctx: WebhookDispatcher(ctx, retry=lambda n: 60.0)]  # never in time
    async with opened_context(settings, jobs=slow) as ctx:
        transport = httpx.ASGITransport(app=create_app(context=ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            webhook_id = await add(http, url=receiver.url, events=["instance.failed"])
            await crash(http, "c1")
            await until(lambda: len(receiver.got) == 1)
            await asyncio.sleep(0.2)
            [pending] = await deliveries(http, webhook_id)
            assert (pending["status"], pending["attempts"]) == ("pending", 1)
    from roost.composition import open_context

    ctx = await open_context(settings, jobs=[lambda ctx: WebhookDispatcher(ctx, retry=fast)])
    try:
        await until(lambda: len(receiver.got) == 3)
        transport = httpx.ASGITransport(app=create_app(context=ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            [done] = await settled(http, webhook_id, 1)
            assert (done["status"], done["attempts"]) == ("delivered", 3)
    finally:
        await ctx.close()
