"""The instance directory: rendered files, env files without secrets, 0600 for files
that use one, re-rendering on change, install and uninstall hooks."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import httpx

from roost.services.context import Context
from tests.servers import free_base

SECRET = "pa55-d0-not-leak"
# offset ports below the ephemeral range, free when the module loads (43000 + 100n was
# taken by another process's outgoing connection once)
BASE = free_base()


def app(**extra: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "version": "1",
        "ports": {"http": BASE},
        "env": {"GREETING": "hello {{ instance.name }}"},
        "config": {"log_level": "info"},
        "services": {
            "server": {
                "command": ["python", "-m", "http.server", "{{ ports.http }}"],
                "ports": ["http"],
                "env": {"LEVEL": "{{ config.log_level }}", "TOKEN": "{{ secrets.api_key }}"},
                "secrets": ["api_key"],
            }
        },
        "files": {
            "conf/app.conf": {"content": "port={{ ports.http }}\nlevel={{ config.log_level }}\n"},
            "conf/creds.conf": {"content": "key={{ secrets.api_key | default('none') }}\n"},
        },
        **extra,
    }


def folder(context: Context, instance_id: str) -> Path:
    return context.home.path / "instances" / instance_id


async def test_the_directory_is_rendered_at_create(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=app())
    created = (
        await client.post("/v1/instances", json={"app": "web", "instance_id": "3", "name": "Three"})
    ).json()
    assert created["state"] == "inactive"
    base = folder(context, "3")
    assert {p.name for p in base.iterdir()} >= {
        "roost.env",
        "instance.json",
        "env",
        "data",
        "logs",
        "conf",
    }
    env = (base / "roost.env").read_text()
    assert 'ROOST_INSTANCE_ID="3"' in env
    assert 'ROOST_INSTANCE_ORDINAL="3"' in env
    assert f'PORT_HTTP="{BASE + 300}"' in env
    assert 'GREETING="hello Three"' in env
    assert f'ROOST_INSTANCE_DIR="{base}"' in env
    service = (base / "env" / "server.env").read_text()
    assert f'PORT="{BASE + 300}"' in service and 'LEVEL="info"' in service
    assert "TOKEN" not in service  # it needs a secret: never in a file
    assert (base / "conf" / "app.conf").read_text() == f"port={BASE + 300}\nlevel=info\n"
    assert '"ordinal": 3' in (base / "instance.json").read_text()
    assert not [p for p in base.rglob("*.tmp")]


async def test_files_follow_config_and_secrets_and_a_secret_file_is_0600(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=app())
    await client.post("/v1/instances", json={"app": "web", "instance_id": "f"})
    base = folder(context, "f")
    await client.patch("/v1/instances/f/config", json={"log_level": "debug"})
    assert "level=debug" in (base / "conf" / "app.conf").read_text()
    assert 'LEVEL="debug"' in (base / "env" / "server.env").read_text()
    await client.put("/v1/instances/f/secrets/api_key", json={"value": SECRET})
    creds = base / "conf" / "creds.conf"
    assert creds.read_text() == f"key={SECRET}\n"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE((base / "conf" / "app.conf").stat().st_mode) == 0o644
    for path in base.rglob("*"):
        if path.is_file() and path != creds:
            assert SECRET not in path.read_text(), path
    await client.delete("/v1/instances/f/secrets/api_key")
    assert creds.read_text() == "key=none\n"


async def test_install_hook_runs_in_the_directory(
    client: httpx.AsyncClient, context: Context
) -> None:
    hook = ["sh", "-c", "echo installed $ROOST_INSTANCE_ID {{ ports.http }} > data/installed.txt"]
    await client.post("/v1/apps", json=app(install=hook))
    await client.post("/v1/instances", json={"app": "web", "instance_id": "h"})
    assert (folder(context, "h") / "data" / "installed.txt").read_text() == f"installed h {BASE}\n"


async def test_a_failed_install_rolls_the_creation_back(
    client: httpx.AsyncClient, context: Context
) -> None:
    hook = ["sh", "-c", "echo preparing; echo 'disk full' >&2; exit 3"]
    await client.post("/v1/apps", json=app(install=hook))
    response = await client.post("/v1/instances", json={"app": "web", "instance_id": "bad"})
    assert response.status_code == 424
    body = response.json()
    assert (body["code"], body["exit_code"]) == ("INSTALL_FAILED", 3)
    assert body["output"] == "preparing\ndisk full"
    assert (await client.get("/v1/instances/bad")).status_code == 404
    assert not folder(context, "bad").exists()
    assert (await client.get("/v1/ports")).json()["ports"] == []
    again = await client.post("/v1/apps", json={**app(), "version": "2"})
    assert again.status_code == 200
    retry = await client.post("/v1/instances", json={"app": "web", "instance_id": "bad"})
    assert retry.status_code == 201  # id, ordinal and port were all given back


async def test_delete_runs_uninstall_and_removes_the_directory(
    client: httpx.AsyncClient, context: Context, tmp_path: Path
) -> None:
    marker = tmp_path / "uninstalled.txt"
    await client.post(
        "/v1/apps", json=app(uninstall=["sh", "-c", f"echo bye $ROOST_INSTANCE_ID > {marker}"])
    )
    await client.post("/v1/instances", json={"app": "web", "instance_id": "u"})
    assert folder(context, "u").exists()
    assert (await client.delete("/v1/instances/u")).status_code == 204
    assert marker.read_text() == "bye u\n"
    assert not folder(context, "u").exists()
    events = (await client.get("/v1/events", params={"instance_id": "u"})).json()["events"]
    assert events[-1]["details"]["uninstall_exit_code"] == 0


async def test_bare_instances_get_no_directory(client: httpx.AsyncClient, context: Context) -> None:
    await client.post("/v1/instances", json={"instance_id": "bare"})
    assert not folder(context, "bare").exists()


async def test_clean_removes_files_logs_and_data_but_keeps_the_instance(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=app())
    await client.post("/v1/instances", json={"app": "web", "instance_id": "1"})
    base = folder(context, "1")
    (base / "data" / "save.dat").write_text("progress")
    (base / "logs" / "server.log").write_text("lines")
    cleaned = await client.post("/v1/instances/1/clean")
    assert cleaned.status_code == 200
    assert list(base.iterdir()) == []
    assert cleaned.json()["ports"] == {"http": BASE + 100}
    assert (await client.get("/v1/ports")).json()["ports"][0]["instance_id"] == "1"
    await client.patch("/v1/instances/1/config", json={"log_level": "warn"})  # renders again
    assert (base / "roost.env").exists()
    await client.post("/v1/instances", json={"instance_id": "live"})  # bare: active
    refused = await client.post("/v1/instances/live/clean")
    assert (refused.status_code, refused.json()["code"]) == (409, "INVALID_TRANSITION")


async def test_clone_copies_config_tags_secrets_files_and_data(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post("/v1/apps", json=app())
    await client.post(
        "/v1/instances",
        json={"app": "web", "instance_id": "1", "tags": ["eu"], "config": {"log_level": "debug"}},
    )
    await client.put("/v1/instances/1/secrets/api_key", json={"value": SECRET})
    (folder(context, "1") / "data" / "world.dat").write_text("saved game")
    response = await client.post("/v1/instances/1/clone", json={"instance_id": "2", "name": "PvE"})
    assert response.status_code == 201, response.text
    clone = response.json()
    assert (clone["instance_id"], clone["name"], clone["ordinal"]) == ("2", "PvE", 2)
    assert clone["ports"] == {"http": BASE + 200}
    assert clone["tags"] == ["eu"] and clone["config"] == {"log_level": "debug"}
    assert (await client.get("/v1/instances/2/secrets/api_key")).json()["value"] == SECRET
    copy = folder(context, "2")
    assert (copy / "data" / "world.dat").read_text() == "saved game"
    assert (copy / "conf" / "app.conf").read_text() == f"port={BASE + 200}\nlevel=debug\n"
    assert (copy / "conf" / "creds.conf").read_text() == f"key={SECRET}\n"
    assert 'ROOST_INSTANCE_ID="2"' in (copy / "roost.env").read_text()
    bare = await client.post("/v1/instances/1/clone", json={"with_data": False})
    assert bare.status_code == 201
    assert not (folder(context, bare.json()["instance_id"]) / "data" / "world.dat").exists()
    assert (await client.get("/v1/instances/1")).json()["ports"] == {"http": BASE + 100}
    taken = await client.post("/v1/instances/1/clone", json={"instance_id": "2"})
    assert (taken.status_code, taken.json()["code"]) == (409, "INSTANCE_EXISTS")
    missing = await client.post("/v1/instances/nobody/clone")
    assert (missing.status_code, missing.json()["code"]) == (404, "INSTANCE_NOT_FOUND")


async def test_an_app_with_files_but_no_services_gets_its_directory_at_create(
    client: httpx.AsyncClient, context: Context
) -> None:
    await client.post(
        "/v1/apps",
        json={"name": "notes", "files": {"motd.txt": {"content": "hi {{ instance.id }}"}}},
    )
    created = (await client.post("/v1/instances", json={"app": "notes", "instance_id": "n"})).json()
    assert created["state"] == "active"  # no services: nothing to start
    assert (folder(context, "n") / "motd.txt").read_text() == "hi n"
