"""The dashboard's pages, in-process over the real app: what they show, that they
escape what users wrote, filters and pages of 100, bulk actions with each instance's
outcome, errors as pages, and the static files and /docs served without a CDN."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from roost.domain.metrics import Sample
from roost.registry.metrics import Taken, add_samples
from roost.services.context import Context


async def make(client: httpx.AsyncClient, *ids: str, **body: object) -> None:
    for instance_id in ids:
        made = await client.post("/v1/instances", json={"instance_id": instance_id, **body})
        assert made.status_code == 201, made.text


async def test_the_instances_page_lists_them_with_health_as_dot_and_word(
    client: httpx.AsyncClient,
) -> None:
    await make(client, "alpha", "beta", tags=["eu"])
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert 'href="/instances/alpha"' in html and 'href="/instances/beta"' in html
    # status never by colour alone: the dot comes with its word
    assert re.search(
        r'class="health health-unknown"><span class="dot" aria-hidden="true"></span>unknown', html
    )
    assert '<span class="tag">eu</span>' in html
    assert 'value="start"' in html  # the local owner may act


async def test_filters_search_and_an_empty_choice_from_the_form(
    client: httpx.AsyncClient,
) -> None:
    await make(client, "red-one", "blue-two")
    await client.post("/v1/instances/blue-two/stop")
    searched = (
        await client.get("/", params={"q": "red", "state": "", "health": "", "app": ""})
    ).text
    assert "/instances/red-one" in searched and "/instances/blue-two" not in searched
    stopped = (await client.get("/", params={"state": "inactive"})).text
    assert "/instances/blue-two" in stopped and "/instances/red-one" not in stopped
    bad = await client.get("/", params={"state": "sleepy"})
    assert bad.status_code == 400 and "invalid state" in bad.text
    assert bad.headers["content-type"].startswith("text/html")


async def test_pages_of_a_hundred_follow_the_cursor(client: httpx.AsyncClient) -> None:
    await make(client, *(f"i{n:03}" for n in range(130)))
    first = (await client.get("/")).text
    assert first.count('name="instance_id" value="i') == 100
    link = re.search(r'href="(/\?[^"]*cursor=[^"]+)"', first)
    assert link is not None
    second = (await client.get(link.group(1).replace("&amp;", "&"))).text
    assert second.count('name="instance_id" value="i') == 30
    assert "/instances/i129" in second and "/instances/i000" not in second
    assert "cursor=" not in second.split("</table>")[1]  # the last page: no next link


async def test_what_users_wrote_is_escaped(client: httpx.AsyncClient) -> None:
    await make(client, "x1", name="<script>alert(1)</script>")
    await client.patch(
        "/v1/instances/x1/config", json={"motd": "</pre><img src=x onerror=alert(1)>"}
    )
    for path in ("/", "/instances/x1"):
        html = (await client.get(path)).text
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_the_instance_page_shows_names_of_secrets_never_values(
    client: httpx.AsyncClient,
) -> None:
    await make(client, "s1", tags=["prod"])
    await client.put("/v1/instances/s1/secrets/api_key", json={"value": "hunter2-value"})
    await client.patch("/v1/instances/s1/config", json={"difficulty": "hard"})
    html = (await client.get("/instances/s1")).text
    assert "<code>api_key</code>" in html and "hunter2-value" not in html
    assert "&#34;difficulty&#34;: &#34;hard&#34;" in html or '"difficulty": "hard"' in html
    for heading in ("Services", "Ports", "Config", "Secrets", "Backups", "Events"):
        assert f">{heading}</h2>" in html
    missing = await client.get("/instances/nobody")
    assert missing.status_code == 404 and "INSTANCE_NOT_FOUND" in missing.text


async def test_a_bulk_action_tells_each_instance_s_outcome(
    client: httpx.AsyncClient, context: Context
) -> None:
    await make(client, "b1", "b2")
    form = {"action": "stop", "instance_id": ["b1", "b2", "ghost"]}
    done = await client.post("/actions", data=form)
    assert done.status_code == 200, done.text
    assert "Stop: 2 of 3 succeeded" in done.text
    assert re.search(r'class="failed">.*ghost.*INSTANCE_NOT_FOUND', done.text, re.S)
    states = {
        i["instance_id"]: i["state"]
        for i in (await client.get("/v1/instances")).json()["instances"]
    }
    assert states == {"b1": "inactive", "b2": "inactive"}
    backed = await client.post("/actions", data={"action": "backup", "instance_id": "b1"})
    assert "Backup: 1 of 1 succeeded" in backed.text
    await context.background.settle(10)
    assert len((await client.get("/v1/instances/b1/backups")).json()["backups"]) == 1


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"action": "explode", "instance_id": "b1"}, "INVALID_ACTION"),
        ({"action": "stop"}, "NOTHING_SELECTED"),
    ],
)
async def test_a_bad_form_is_a_page_saying_why(
    client: httpx.AsyncClient, form: dict[str, str], code: str
) -> None:
    answer = await client.post("/actions", data=form)
    assert answer.status_code == 400 and code in answer.text


async def test_forms_take_only_form_bodies_and_never_from_another_site(
    client: httpx.AsyncClient,
) -> None:
    await make(client, "f1")
    as_json = await client.post("/actions", json={"action": "stop", "instance_id": "f1"})
    assert (as_json.status_code, as_json.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    crossing = await client.post(
        "/actions",
        data={"action": "stop", "instance_id": "f1"},
        headers={"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    )
    assert crossing.status_code == 403
    assert (await client.get("/v1/instances/f1")).json()["state"] == "active"
    # and the API still refuses forms
    form_to_api = await client.post("/v1/instances/f1/stop", data={"x": "1"})
    assert form_to_api.status_code == 415


async def test_static_files_and_docs_come_from_the_package(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/roost.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in css.text
    again = await client.get("/static/roost.css", headers={"if-none-match": css.headers["etag"]})
    assert again.status_code == 304
    for name in ("roost.js",):
        assert (await client.get(f"/static/{name}")).status_code == 200
    for bad in ("nope.css", "..%2Froost.db", "roost.db"):
        assert (await client.get(f"/static/{bad}")).status_code == 404
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    bundle = await client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert (await client.get("/docs/index.html")).status_code == 404


async def test_apps_and_events_pages(client: httpx.AsyncClient) -> None:
    added = await client.post("/v1/apps", json={"name": "game", "version": "2"})
    assert added.status_code == 201
    await make(client, "e1")
    apps = (await client.get("/apps")).text
    assert 'id="game"' in apps and "Spec" in apps
    events = (await client.get("/events", params={"instance_id": "e1", "outcome": ""})).text
    assert "instance.create" in events and 'href="/instances/e1"' in events


async def test_the_instance_page_draws_cpu_and_memory_with_words(
    client: httpx.AsyncClient, context: Context
) -> None:
    await make(client, "m1")
    now = time.time()
    taken = [
        Taken(
            "m1", Sample(now - 60 * n, 15.0, {"cpu_percent": float(n), "memory_bytes": 2**20 * n})
        )
        for n in range(1, 11)
    ]
    await context.registry.write(add_samples, taken)
    html = (await client.get("/instances/m1")).text
    assert ">CPU and memory</h2>" in html
    assert html.count("<polyline points=") == 4  # CPU and memory, the last hour and day
    assert "CPU, the last hour: latest 1.0%, highest 10.0%, lowest 1.0% (10 points)" in html
    assert 'role="img" aria-label="Memory, the last hour: latest 1.0M' in html
    empty = (await client.get("/instances/m1")).text  # the same page again: no crash
    assert empty.count("<polyline") == 4
    await make(client, "m2")
    nothing = (await client.get("/instances/m2")).text
    assert "CPU, the last hour: no samples yet" in nothing and "<polyline" not in nothing


async def test_the_instance_page_s_forms_save_reveal_clone_and_delete(
    client: httpx.AsyncClient, context: Context
) -> None:
    await make(client, "p1")
    await client.put("/v1/instances/p1/secrets/api_key", json={"value": "hunter2-value"})
    page = (await client.get("/instances/p1")).text
    for control in ("Save config", "Reveal", "Clone", "Delete"):
        assert control in page
    saved = await client.post("/instances/p1/config", data={"config": '{"difficulty": "hard"}'})
    assert (saved.status_code, saved.headers["location"]) == (303, "/instances/p1")
    assert (await client.get("/v1/instances/p1")).json()["config"] == {"difficulty": "hard"}
    bad = await client.post("/instances/p1/config", data={"config": "[1]"})
    assert bad.status_code == 400 and "INVALID_CONFIG" in bad.text
    shown = await client.post("/instances/p1/reveal", data={"name": "api_key"})
    assert shown.status_code == 200 and "hunter2-value" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    events = (await client.get("/v1/events", params={"instance_id": "p1"})).json()["events"]
    assert "secret.read" in [e["action"] for e in events]
    copied = await client.post("/instances/p1/clone", data={"new_id": "p2"})
    assert (copied.status_code, copied.headers["location"]) == (303, "/instances/p2")
    unconfirmed = await client.post("/instances/p2/delete", data={"confirm": "p1"})
    assert unconfirmed.status_code == 400 and "NOT_CONFIRMED" in unconfirmed.text
    assert (await client.get("/v1/instances/p2")).status_code == 200
    gone = await client.post("/instances/p2/delete", data={"confirm": "p2", "backup": "on"})
    assert (gone.status_code, gone.headers["location"]) == (303, "/")
    assert (await client.get("/v1/instances/p2")).status_code == 404
    orphans = (await client.get("/v1/backups/orphaned")).json()["backups"]
    assert [b["kind"] for b in orphans] == ["pre-delete"]


async def test_a_backup_restores_from_the_instance_page(
    client: httpx.AsyncClient, context: Context
) -> None:
    await make(client, "r1")
    data = context.home.path / "instances" / "r1" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "save.dat").write_text("before")
    await client.post("/actions", data={"action": "backup", "instance_id": "r1"})
    await context.background.settle(10)
    [taken] = (await client.get("/v1/instances/r1/backups")).json()["backups"]
    assert f'name="backup" value="{taken["name"]}"' in (await client.get("/instances/r1")).text
    (data / "save.dat").write_text("after")
    back = await client.post("/instances/r1/restore", data={"backup": taken["name"]})
    assert back.status_code == 303
    assert (data / "save.dat").read_text() == "before"


async def test_a_log_page_shows_the_last_lines_of_each_service(
    client: httpx.AsyncClient, context: Context
) -> None:
    spec = {
        "name": "two",
        "version": "1",
        "services": {"web": {"command": ["true"]}, "db": {"command": ["true"]}},
    }
    assert (await client.post("/v1/apps", json=spec)).status_code == 201
    await make(client, "l1", app="two")
    logs = context.home.path / "instances" / "l1" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "web.log").write_text("".join(f"web line {n}\n" for n in range(300)))
    (logs / "db.log").write_text("db <ready>\n")
    both = (await client.get("/instances/l1/logs")).text
    assert "web | web line 299" in both and "web | web line 99\n" not in both  # the last 200
    assert "db | db &lt;ready&gt;" in both
    assert 'data-follow="/v1/instances/l1/logs?tail=0&amp;follow=true"' in both
    one = (await client.get("/instances/l1/logs", params={"service": "db"})).text
    assert "db &lt;ready&gt;" in one and "web line" not in one and "&amp;service=db" in one
    missing = await client.get("/instances/l1/logs", params={"service": "nope"})
    assert missing.status_code == 404
    await make(client, "bare1")
    assert "No services, no logs" in (await client.get("/instances/bare1/logs")).text


async def test_an_admin_registers_an_app_from_the_apps_page(client: httpx.AsyncClient) -> None:
    page = (await client.get("/apps")).text
    assert "Register an app or a version" in page
    spec = '{"name": "game", "version": "2", "config": {"pvp": true}}'
    done = await client.post("/apps", data={"spec": spec, "default": "on"})
    assert (done.status_code, done.headers["location"]) == (303, "/apps#game")
    app = (await client.get("/v1/apps/game")).json()
    assert (app["version"], app["default"]) == ("2", True)
    bad = await client.post("/apps", data={"spec": '{"name": "game", "services": {"x": {}}}'})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
    assert "INVALID_SPEC" in bad.text and "services" in bad.text
    assert "{&#34;name&#34;: &#34;game&#34;" in bad.text  # what was typed stays
    broken = await client.post("/apps", data={"spec": "{nope"})
    assert broken.status_code == 400 and "not JSON" in broken.text


async def test_the_events_page_goes_back_200_at_a_time(client: httpx.AsyncClient) -> None:
    await make(client, *(f"ev{n:03}" for n in range(210)))
    first = (await client.get("/events")).text
    assert first.count("<code>instance.create</code>") == 200
    assert "ev209" in first and "ev009" not in first
    older = re.search(r'href="(/events\?[^"]*before=\d+)"', first)
    assert older is not None
    second = (await client.get(older.group(1).replace("&amp;", "&"))).text
    assert "ev009" in second and "ev209" not in second
    assert "before=" not in second  # the oldest page
    api = (await client.get("/v1/events", params={"limit": 5, "before": 6})).json()["events"]
    assert [e["id"] for e in api] == [1, 2, 3, 4, 5]
