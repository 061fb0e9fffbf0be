"""Exports: systemd template units and compose files, checked by the real validators
(systemd-analyze verify, docker-compose config), and what they must never contain."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from roost.services.context import Context

pytestmark = pytest.mark.demo_ports  # the example stack's fixed ports

SECRET = "s3cr3t-never-in-a-file"


def stack(version: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "name": "stack",
        "version": version,
        "ports": {"backend": 3211, "frontend": 5173},
        "config": {"workers": 4},
        "limits": {"memory": "256M", "cpu": 0.5, "pids": 64},
        "services": {
            "backend": {
                "command": [
                    "python3",
                    "-m",
                    "http.server",
                    "{{ ports.backend }}",
                    "--directory",
                    "{{ instance.dir }}/data",
                    "--workers={{ config.workers * 2 }}",
                    "100% $HOME",
                ],
                "image": "python:3.12-slim",
                "restart": "always",
                "secrets": ["api_key"],
                "env": {"API_KEY": "{{ secrets.api_key }}"},
                "stop_timeout": "5s",
            },
            "frontend": {
                "command": ["python3", "-m", "http.server", "{{ ports.frontend }}"],
                "image": "python:3.12-slim",
                "restart": "no",
                "depends_on": ["backend"],
            },
        },
        **extra,
    }


async def two_instances(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/apps", json=stack())).status_code == 201
    for instance_id in ("1", "5"):
        response = await client.post(
            "/v1/instances", json={"app": "stack", "instance_id": instance_id}
        )
        assert response.status_code == 201, response.text
        response = await client.put(
            f"/v1/instances/{instance_id}/secrets/api_key", json={"value": SECRET}
        )
        assert response.status_code == 204, response.text


async def export(client: httpx.AsyncClient, kind: str, out: Path, **body: Any) -> dict[str, Path]:
    response = await client.post(f"/v1/exports/{kind}", json={"out": str(out), **body})
    assert response.status_code == 200, response.text
    written = {}
    for file in response.json()["files"]:
        path = out / file["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file["content"])
        path.chmod(file["mode"])
        written[file["path"]] = path
    return written


def validator(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed (scripts/test installs it)"
    return found


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


async def test_systemd_units_pass_systemd_analyze_verify(
    client: httpx.AsyncClient, context: Context, tmp_path: Path
) -> None:
    await two_instances(client)
    limits = {"limits": {"memory": "128M", "pids": 16}}  # instance 5's own, over the app's
    assert (await client.patch("/v1/instances/5/config", json=limits)).status_code == 200
    out = tmp_path / "units"
    files = await export(client, "systemd", out)
    assert sorted(files) == [
        "env/1/backend.env",
        "env/1/frontend.env",
        "env/5/backend.env",
        "env/5/frontend.env",
        "roost-stack-1.slice",
        "roost-stack-5.slice",
        "roost-stack-backend@.service",
        "roost-stack-backend@1.service.d/roost.conf",
        "roost-stack-backend@5.service.d/roost.conf",
        "roost-stack-frontend@.service",
        "roost-stack-frontend@1.service.d/roost.conf",
        "roost-stack-frontend@5.service.d/roost.conf",
    ]
    units = [f"./roost-stack-{s}@{i}.service" for s in ("backend", "frontend") for i in (1, 5)]
    slices = ["./roost-stack-1.slice", "./roost-stack-5.slice"]
    checked = run([validator("systemd-analyze"), "verify", *units, *slices], out)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    # limits hold for an instance's services together: in its slice, not in each unit
    assert (
        "Slice=roost-stack-5.slice"
        in files["roost-stack-frontend@5.service.d/roost.conf"].read_text()
    )
    slice_1 = files["roost-stack-1.slice"].read_text()
    assert (
        "MemoryMax=268435456" in slice_1 and "CPUQuota=50%" in slice_1 and "TasksMax=64" in slice_1
    )
    slice_5 = files["roost-stack-5.slice"].read_text()
    assert (
        "MemoryMax=134217728" in slice_5 and "CPUQuota=50%" in slice_5 and "TasksMax=16" in slice_5
    )

    unit = files["roost-stack-backend@.service"].read_text()
    instances = context.home.path / "instances"
    assert f"EnvironmentFile={out}/env/%i/backend.env" in unit
    assert f"WorkingDirectory={instances}/%i" in unit
    assert "Restart=always" in unit and "TimeoutStopSec=5" in unit
    assert "MemoryMax" not in unit and "TasksMax" not in unit
    # exact per-instance values become the unit's own variables and specifiers; the rest
    # is rendered per instance into the env file; literal % and $ are escaped
    assert (
        "ExecStart=python3 -m http.server ${PORT_BACKEND} --directory "
        f'{instances}/%i/data ${{ROOST_ARG_6}} "100%% $$HOME"'
    ) in unit
    frontend = files["roost-stack-frontend@.service"].read_text()
    assert "Restart=no" in frontend
    assert "Requires=roost-stack-backend@%i.service" in frontend
    env_5 = files["env/5/backend.env"].read_text()
    assert 'PORT_BACKEND="3711"' in env_5 and 'ROOST_ARG_6="--workers=8"' in env_5
    assert 'PORT_FRONTEND="5673"' in files["env/5/frontend.env"].read_text()
    for path in files.values():
        assert SECRET not in path.read_text()


async def test_dashes_in_ids_do_not_nest_one_instance_slice_in_another(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A dash in a slice name makes a parent: ``a`` must not be ``a-b``'s parent."""
    assert (await client.post("/v1/apps", json=stack())).status_code == 201
    for instance_id in ("a", "a-b"):
        created = await client.post(
            "/v1/instances", json={"app": "stack", "instance_id": instance_id}
        )
        assert created.status_code == 201, created.text
    out = tmp_path / "units"
    files = await export(client, "systemd", out)
    assert "roost-stack-a.slice" in files and "roost-stack-a\\x2db.slice" in files
    drop_in = files["roost-stack-backend@a-b.service.d/roost.conf"].read_text()
    assert "Slice=roost-stack-a\\x2db.slice" in drop_in
    units = ["./roost-stack-backend@a.service", "./roost-stack-backend@a-b.service"]
    checked = run([validator("systemd-analyze"), "verify", *units], out)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


async def test_a_broken_unit_fails_verify(tmp_path: Path) -> None:
    """The validator the export test relies on does reject a bad unit."""
    (tmp_path / "bad@.service").write_text("[Service]\nExecStart=./relative\nMemoryMax=lots\n")
    checked = run([validator("systemd-analyze"), "verify", "./bad@1.service"], tmp_path)
    assert checked.returncode != 0 and checked.stderr


async def test_systemd_secrets_only_when_asked_and_then_0600(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await two_instances(client)
    files = await export(client, "systemd", tmp_path, instance_ids=["5"], with_secrets=True)
    secrets = files["env/5/backend.secrets.env"]
    # what the process gets: the secret by its name, and the env entries that use it
    assert secrets.read_text() == f'API_KEY="{SECRET}"\napi_key="{SECRET}"\n'
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert not any("env/1/" in path for path in files)
    assert "env/5/frontend.secrets.env" in files  # empty, but there: nothing is listed
    assert SECRET not in files["env/5/backend.env"].read_text()


async def test_compose_files_pass_docker_compose_config(
    client: httpx.AsyncClient, context: Context, tmp_path: Path
) -> None:
    await two_instances(client)
    own = {"note": "costs $5", "limits": {"memory": "128M"}}  # instance 5's own memory limit
    await client.patch("/v1/instances/5/config", json=own)
    files = await export(client, "compose", tmp_path)
    assert sorted(files) == [
        "stack/1/.env",
        "stack/1/docker-compose.override.yml",
        "stack/5/.env",
        "stack/5/docker-compose.override.yml",
        "stack/docker-compose.yml",
    ]
    assert files["stack/5/.env"].read_text() == (
        "COMPOSE_PROJECT_NAME=roost-stack-5\n"
        "COMPOSE_FILE=../docker-compose.yml:docker-compose.override.yml\n"
    )
    # run from the instance's folder, as a user would: the .env names the files
    checked = run([validator("docker-compose"), "config"], tmp_path / "stack" / "5")
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    merged = yaml.safe_load(checked.stdout)
    backend = merged["services"]["backend"]
    assert backend["ports"] == [{"published": 3711, "target": 3711}]
    assert backend["restart"] == "always"
    assert backend["mem_limit"] == 134217728 and backend["cpus"] == 0.5  # the instance's, the app's
    assert (
        "mem_limit"
        not in yaml.safe_load(files["stack/1/docker-compose.override.yml"].read_text())["services"][
            "backend"
        ]
    )
    assert backend["command"][3:7] == [
        "3711",
        "--directory",
        f"{context.home.path}/instances/5/data",
        "--workers=8",
    ]
    assert backend["environment"]["PORT_BACKEND"] == "3711"
    assert '"note":"costs $$5"' in backend["environment"]["ROOST_CONFIG"]  # kept literal
    assert "API_KEY" not in backend["environment"]
    assert merged["services"]["frontend"]["ports"] == [{"published": 5673, "target": 5673}]
    assert merged["services"]["frontend"]["depends_on"] == {
        "backend": {"condition": "service_started"}
    }
    one = run([validator("docker-compose"), "config"], tmp_path / "stack" / "1")
    assert yaml.safe_load(one.stdout)["services"]["backend"]["ports"] == [
        {"published": 3311, "target": 3311}
    ]
    for path in files.values():
        assert SECRET not in path.read_text()


async def test_an_invalid_compose_file_fails_config(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("version: '2.4'\nservices:\n  a:\n    ports: 7\n")
    checked = run([validator("docker-compose"), "config"], tmp_path)
    assert checked.returncode != 0


@pytest.mark.parametrize(
    ("kind", "body", "status", "code"),
    [
        ("nginx", {}, 404, "EXPORTER_NOT_FOUND"),
        ("systemd", {"out": "relative/dir"}, 400, "INVALID_PATH"),
        ("systemd", {"instance_ids": ["nope"]}, 404, "INSTANCE_NOT_FOUND"),
        ("systemd", {"instance_ids": ["Bad Id"]}, 400, "INVALID_INSTANCE_ID"),
        ("systemd", {"instance_ids": ["bare"]}, 400, "EXPORT_UNSUPPORTED"),
    ],
)
async def test_bad_export_requests(
    client: httpx.AsyncClient,
    tmp_path: Path,
    kind: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    await client.post("/v1/instances", json={"instance_id": "bare"})
    response = await client.post(f"/v1/exports/{kind}", json={"out": str(tmp_path), **body})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_compose_needs_an_image(client: httpx.AsyncClient, tmp_path: Path) -> None:
    spec = stack()
    del spec["services"]["frontend"]["image"]
    await client.post("/v1/apps", json=spec)
    await client.post("/v1/instances", json={"app": "stack", "instance_id": "1"})
    response = await client.post("/v1/exports/compose", json={"out": str(tmp_path)})
    assert response.status_code == 400
    assert response.json()["code"] == "EXPORT_UNSUPPORTED"
    assert "frontend" in response.json()["error"]


async def test_instances_on_different_versions_conflict_in_one_unit(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await client.post("/v1/apps", json=stack("1"))
    await client.post("/v1/instances", json={"app": "stack", "instance_id": "1"})
    changed = stack("2")
    changed["services"]["frontend"]["restart"] = "always"
    await client.post("/v1/apps", json=changed)
    await client.post("/v1/instances", json={"app": "stack", "instance_id": "2"})
    response = await client.post("/v1/exports/systemd", json={"out": str(tmp_path)})
    assert response.status_code == 400
    assert response.json()["code"] == "EXPORT_CONFLICT"
    one = await client.post(
        "/v1/exports/systemd", json={"out": str(tmp_path), "instance_ids": ["2"]}
    )
    assert one.status_code == 200


async def test_a_varying_executable_cannot_be_a_template_unit(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    spec = stack()
    spec["services"]["frontend"]["command"] = ["{{ config.workers }}/run"]
    await client.post("/v1/apps", json=spec)
    await client.post("/v1/instances", json={"app": "stack", "instance_id": "1"})
    response = await client.post("/v1/exports/systemd", json={"out": str(tmp_path)})
    assert response.status_code == 400
    assert response.json()["code"] == "EXPORT_UNSUPPORTED"


async def test_exporters_are_listed(client: httpx.AsyncClient) -> None:
    names = [e["name"] for e in (await client.get("/v1/exports")).json()["exporters"]]
    assert names == ["compose", "systemd"]
