"""What an instance's directory holds, rendered from its app spec (pure: no I/O).

``roost.env`` has every variable of DESIGN.md's "What an instance's processes get" but
secrets and ``ROOST_CACHE_TOKEN``; ``env/<service>.env`` adds the service's own; the
app's files are rendered from their templates. Secrets never go into an env file; a
rendered file whose template uses them is marked secret (written with mode 0600).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roost.domain.layout import ENV_FILE, RECORD, service_env_file
from roost.domain.model import Instance
from roost.domain.spec import AppSpec
from roost.domain.templates import render, uses_secrets
from roost.instance_dir import RenderedFile


def template_context(
    instance: Instance,
    spec: AppSpec,
    config: Mapping[str, Any],
    directory: Path,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "instance": {
            "id": instance.instance_id,
            "name": instance.name,
            "ordinal": instance.ordinal,
            "dir": str(directory),
            "app": instance.app,
            "version": instance.version,
            "tags": list(instance.tags),
        },
        "ports": dict(instance.ports),
        "config": dict(config),
        "app": {"name": spec.name, "version": instance.version, "dir": str(directory)},
    }
    if secrets is not None:
        context["secrets"] = dict(secrets)
    return context


def base_environment(
    instance: Instance, spec: AppSpec, config: Mapping[str, Any], directory: Path, cache_url: str
) -> dict[str, str]:
    """What every process of the instance gets (no secrets, no cache token)."""
    env = {
        "ROOST_INSTANCE_ID": instance.instance_id,
        "ROOST_INSTANCE_NAME": instance.name,
        "ROOST_INSTANCE_ORDINAL": str(instance.ordinal),
        "ROOST_INSTANCE_DIR": str(directory),
        "ROOST_APP": instance.app,
        "ROOST_APP_VERSION": instance.version,
        "ROOST_CACHE_URL": cache_url,
        "ROOST_CONFIG": json.dumps(dict(config), separators=(",", ":"), sort_keys=True),
    }
    for name, port in instance.ports.items():
        env[f"PORT_{name.upper()}"] = str(port)
    context = template_context(instance, spec, config, directory)
    for key, value in spec.env.items():
        env[key] = render(value, context, where=f"env.{key}")
    return env


def service_environment(
    base: Mapping[str, str],
    instance: Instance,
    spec: AppSpec,
    service: str,
    config: Mapping[str, Any],
    directory: Path,
    secrets: Mapping[str, str] | None,
) -> dict[str, str]:
    """A service's variables on top of ``base``. Without ``secrets`` (for files), the
    entries that need them are left out; with them (for the process), they are in."""
    definition = spec.services[service]
    env = dict(base)
    ports = spec.service_ports(service)
    if ports:
        env["PORT"] = str(instance.ports[ports[0]])
    listed = definition.listed_secrets(secrets)
    context = template_context(
        instance, spec, config, directory, listed if secrets is not None else None
    )
    for key, value in definition.env.items():
        if secrets is None and uses_secrets(value):
            continue
        env[key] = render(value, context, where=f"services.{service}.env.{key}")
    if secrets is not None:
        env.update(listed)
    return env


def env_file(variables: Mapping[str, str]) -> str:
    """``KEY="value"`` lines that systemd's EnvironmentFile and compose's env_file both read."""
    lines = []
    for key, value in sorted(variables.items()):
        # "$" is left alone: systemd does not expand variables in an EnvironmentFile
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"


def instance_record(instance: Instance) -> str:
    """``instance.json``: enough to rebuild the registry entry if it is lost."""
    record = {
        "instance_id": instance.instance_id,
        "name": instance.name,
        "app": instance.app,
        "version": instance.version,
        "ordinal": instance.ordinal,
        "ports": instance.ports,
        "tags": list(instance.tags),
        "config": instance.config,
        "owner": instance.owner,
        "created_at": instance.created_at.isoformat(),
    }
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def render_instance(
    instance: Instance,
    spec: AppSpec,
    config: Mapping[str, Any],
    directory: Path,
    secrets: Mapping[str, str],
    cache_url: str,
) -> list[RenderedFile]:
    """Every file of the instance directory, as it should be now."""
    base = base_environment(instance, spec, config, directory, cache_url)
    files = [
        RenderedFile(ENV_FILE, env_file(base)),
        RenderedFile(RECORD, instance_record(instance)),
    ]
    for service in spec.services:
        variables = service_environment(base, instance, spec, service, config, directory, None)
        files.append(RenderedFile(service_env_file(service), env_file(variables)))
    context = template_context(instance, spec, config, directory, secrets)
    for path, file in spec.files.items():
        content = render(file.content, context, where=f"files.{path}")
        files.append(RenderedFile(path, content, secret=uses_secrets(file.content)))
    return files
