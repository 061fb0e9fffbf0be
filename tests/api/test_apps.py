"""/v1/apps: specs in, versions kept, instances on the version they were made from."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.demo_ports  # the example stack's fixed ports

STACK: dict[str, Any] = {
    "name": "stack",
    "version": "1.0.0",
    "ports": {"backend": 3211, "frontend": 5173},
    "services": {
        "backend": {"command": ["python", "-m", "http.server", "{{ ports.backend }}"]},
        "frontend": {
            "command": ["python", "-m", "http.server", "{{ ports.frontend }}"],
            "depends_on": ["backend"],
        },
    },
    "files": {"motd.txt": {"content": "Welcome to {{ instance.name }}"}},
    "config": {"log_level": "info"},
}


async def test_register_then_read_back(client: httpx.AsyncClient) -> None:
    created = await client.post("/v1/apps", json=STACK)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["version"], body["bare"], body["default"]) == (
        "stack",
        "1.0.0",
        False,
        False,
    )
    assert body["services"] == ["backend", "frontend"]
    assert [v["version"] for v in body["versions"]] == ["1.0.0"]
    assert body["spec"]["ports"] == {"backend": 3211, "frontend": 5173}
    again = await client.post("/v1/apps", json=STACK)
    assert again.status_code == 200
    assert len(again.json()["versions"]) == 1  # the same spec again changes nothing
    listed = (await client.get("/v1/apps")).json()["apps"]
    assert [a["name"] for a in listed] == ["stack"]
    assert (await client.get("/v1/apps/stack")).json() == again.json()


async def test_a_change_needs_a_new_version_and_instances_stay_on_theirs(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/apps", json=STACK)
    first = (await client.post("/v1/instances", json={"app": "stack", "instance_id": "1"})).json()
    assert first["version"] == "1.0.0"
    changed = {**STACK, "port_stride": 10}
    refused = await client.post("/v1/apps", json=changed)
    assert (refused.status_code, refused.json()["code"]) == (409, "VERSION_EXISTS")
    bumped = await client.post("/v1/apps", json={**changed, "version": "1.1.0"})
    assert bumped.status_code == 200
    assert [v["version"] for v in bumped.json()["versions"]] == ["1.0.0", "1.1.0"]
    assert (await client.get("/v1/instances/1")).json()["version"] == "1.0.0"
    second = (await client.post("/v1/instances", json={"app": "stack"})).json()
    assert second["version"] == "1.1.0"
    pinned = (await client.post("/v1/instances", json={"app": "stack", "version": "1.0.0"})).json()
    assert pinned["version"] == "1.0.0"
    missing = await client.post("/v1/instances", json={"app": "stack", "version": "9.9.9"})
    assert (missing.status_code, missing.json()["code"]) == (404, "VERSION_NOT_FOUND")
    events = (await client.get("/v1/events")).json()["events"]
    assert [e["action"] for e in events if e["action"].startswith("app.")] == [
        "app.create",
        "app.version",
    ]


async def test_instances_of_an_app_with_services_are_inactive_after_create(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/apps", json=STACK)
    created = (await client.post("/v1/instances", json={"app": "stack", "instance_id": "i"})).json()
    assert created["state"] == "inactive"
    assert (await client.get("/v1/instances/i")).json()["state"] == "inactive"
    actions = [
        e["action"]
        for e in (await client.get("/v1/events", params={"instance_id": "i"})).json()["events"]
    ]
    assert actions == ["instance.create", "instance.installed"]


async def test_the_default_app_is_used_when_a_create_names_none(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/instances", json={})).json()["app"] == "default"
    marked = await client.post("/v1/apps", params={"default": "true"}, json=STACK)
    assert marked.json()["default"] is True
    assert (await client.post("/v1/instances", json={})).json()["app"] == "stack"


async def test_bad_specs_are_400_with_every_problem(client: httpx.AsyncClient) -> None:
    # structure first (every structural problem), then references (every one of those)
    structural = await client.post("/v1/apps", json={**STACK, "colour": "red", "port_stride": 0})
    assert structural.status_code == 400
    assert sorted(structural.json()["problems"]) == [
        "stack.colour: unknown key",
        "stack.port_stride: Input should be greater than or equal to 1",
    ]
    bad = {**STACK, "services": {"web": {"command": ["{{ nope }}"], "ports": ["http"]}}}
    response = await client.post("/v1/apps", json=bad)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_SPEC"
    assert len(body["problems"]) == 2, body["problems"]
    no_name = await client.post("/v1/apps", json={"version": "1"})
    assert (no_name.status_code, no_name.json()["code"]) == (400, "INVALID_SPEC")
    path_file = await client.post("/v1/apps", json={"name": "f", "files": {"a": "templates/a.j2"}})
    assert "must be inline" in path_file.json()["problems"][0]
    assert (await client.get("/v1/apps/nothing")).json()["code"] == "APP_NOT_FOUND"


async def test_a_template_that_reaches_out_of_the_sandbox_is_refused_by_name(
    client: httpx.AsyncClient,
) -> None:
    escape = "{{ lipsum.__globals__['os'].popen('id').read() }}"
    spec = {"name": "evil", "files": {"motd.txt": {"content": escape}}}
    response = await client.post("/v1/apps", json=spec)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_SPEC"
    assert set(body["problems"]) == {
        "evil.files.motd.txt: template uses the private attribute '__globals__'",
        "evil.files.motd.txt: template variable 'lipsum' does not exist",
    }
