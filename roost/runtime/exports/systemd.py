"""systemd: one template unit per service, ``roost-<app>-<service>@.service``, with ``%i``
standing for the instance id, plus each instance's environment files and slice.

roost's limits hold for an instance as a whole, all its services together, so each
instance gets a slice, ``roost-<app>-<id>.slice`` (dashes within the app name and the id
escaped as ``\x2d``, so no instance's slice is another's parent), with the instance's own
limits (the app's, under its config ``limits``); a drop-in per service,
``roost-<app>-<service>@<id>.service.d/roost.conf``, puts the service in it.

A unit is shared by every instance of the app, so what differs between instances comes
from the instance's environment file: a command argument that is exactly a port, the
instance id or its directory is written with ``${PORT_X}`` or ``%i``; any other
templated argument is rendered per instance into ``ROOST_ARG_<n>`` and the unit says
``${ROOST_ARG_<n>}`` (one argument, whatever it holds).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from roost.domain.layout import log_file
from roost.domain.spec import AppSpec
from roost.domain.templates import render, uses_secrets
from roost.files import base_environment, env_file, service_environment, template_context
from roost.runtime.exports import ExportFile, ExportTarget, ExportUnsupported, same_file
from roost.runtime.exports.symbols import symbolic
from roost.runtime.limits import effective_limits

RESTART = {"always": "always", "on-failure": "on-failure", "no": "no"}
_DASH = "\\x2d"
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./${}-]+$")


def unit_name(app: str, service: str) -> str:
    return f"roost-{app}-{service}@.service"


def _escape(literal: str) -> str:
    """A literal piece of a command line: systemd expands ``%`` and ``$`` there."""
    return literal.replace("%", "%%").replace("$", "$$")


def instance_unit(app: str, service: str, instance: str) -> str:
    return f"roost-{app}-{service}@{instance}.service"


def _specifiers(path: Path) -> str:
    """A path in a unit setting that expands ``%`` specifiers (but not ``$``)."""
    return str(path).replace("%", "%%")


def _word(text: str) -> str:
    """One argv word of ``ExecStart=``, quoted when it needs to be."""
    if _PLAIN_WORD.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SystemdExporter:
    name = "systemd"
    description = (
        "template units roost-<app>-<service>@.service; per instance env files, a slice "
        "with its limits and drop-ins that put its services in it"
    )

    def render(self, targets: Sequence[ExportTarget], out: Path) -> list[ExportFile]:
        units: dict[str, ExportFile] = {}
        per_instance: list[ExportFile] = []
        for target in targets:
            instance = target.instance
            root = target.directory.parent
            base = base_environment(
                instance, target.spec, target.config, target.directory, target.cache_url
            )
            per_instance.append(_slice(target))
            for service in target.spec.start_order():
                command, arguments = _command(target, service, root)
                unit = _unit(target.spec, service, command, root, out)
                same_file(
                    units,
                    ExportFile(unit_name(instance.app, service), unit),
                    made_by=instance.instance_id,
                )
                variables = service_environment(
                    base,
                    instance,
                    target.spec,
                    service,
                    target.config,
                    target.directory,
                    None,
                )
                variables.update(
                    {key: value for key, (value, secret) in arguments.items() if not secret}
                )
                folder = f"env/{instance.instance_id}"
                per_instance.append(ExportFile(f"{folder}/{service}.env", env_file(variables)))
                drop_in = f"{instance_unit(instance.app, service, instance.instance_id)}.d"
                per_instance.append(
                    ExportFile(
                        f"{drop_in}/roost.conf", _in_slice(instance.app, instance.instance_id)
                    )
                )
                if target.secrets is not None:
                    secret = service_environment(
                        {},
                        instance,
                        target.spec,
                        service,
                        target.config,
                        target.directory,
                        target.secrets,
                    )
                    secret = {k: v for k, v in secret.items() if variables.get(k) != v}
                    secret.update({key: value for key, (value, s) in arguments.items() if s})
                    per_instance.append(
                        ExportFile(f"{folder}/{service}.secrets.env", env_file(secret), 0o600)
                    )
        return [*units.values(), *per_instance]


def _command(
    target: ExportTarget, service: str, root: Path
) -> tuple[list[str], dict[str, tuple[str, bool]]]:
    """The ``ExecStart=`` words, and the per-instance ``ROOST_ARG_<n>`` values each with
    whether it holds a secret."""
    spec = target.spec
    definition = spec.services[service]
    instance_dir = f"{_escape(str(root))}/%i"
    in_path = {
        ("instance", "id"): "%i",
        ("instance", "dir"): instance_dir,
        ("app", "dir"): instance_dir,
        ("instance", "app"): _escape(spec.name),
        ("app", "name"): _escape(spec.name),
    }
    anywhere = {
        **in_path,
        ("instance", "name"): "${ROOST_INSTANCE_NAME}",
        ("instance", "ordinal"): "${ROOST_INSTANCE_ORDINAL}",
        ("instance", "version"): "${ROOST_APP_VERSION}",
        ("app", "version"): "${ROOST_APP_VERSION}",
        **{("ports", name): f"${{PORT_{name.upper()}}}" for name in spec.ports},
    }
    secrets = definition.listed_secrets(target.secrets)
    context = template_context(target.instance, spec, target.config, target.directory, secrets)
    words: list[str] = []
    arguments: dict[str, tuple[str, bool]] = {}
    for index, part in enumerate(definition.command):
        symbols = in_path if index == 0 else anywhere
        word = symbolic(part, symbols, _escape)
        if word is None and index == 0:
            raise ExportUnsupported(
                f"services.{service}.command[0] of app {spec.name!r} varies per instance "
                "in a way a template unit cannot say: use the instance id or directory only",
                code="EXPORT_UNSUPPORTED",
            )
        if word is None:
            key = f"ROOST_ARG_{index}"
            secret = uses_secrets(part)
            value = render(part, context, where=f"services.{service}.command[{index}]")
            if not secret or target.secrets is not None:
                arguments[key] = (value, secret)
            word = f"${{{key}}}"
        if index == 0 and "/" in word and not word.startswith("/"):
            word = f"{instance_dir}/{word.removeprefix('./')}"
        if index == 0 and word.startswith(("@", "-", ":", "+", "!")):
            word = f"./{word}"  # systemd reads these first characters as prefixes
        words.append(_word(word))
    return words, arguments


def _unit(spec: AppSpec, service: str, command: list[str], root: Path, out: Path) -> str:
    definition = spec.services[service]
    instance_dir = f"{_specifiers(root)}/%i"
    env_folder = f"{_specifiers(out)}/env/%i"
    dependencies = " ".join(instance_unit(spec.name, d, "%i") for d in definition.depends_on)
    lines = [
        f"# Generated by roost from app {spec.name}: service {service} of one instance (%i).",
        f"# Start one: systemctl enable --now {instance_unit(spec.name, service, 'ID')}",
        "[Unit]",
        f"Description=roost {spec.name}: {service} of instance %i",
        f"After=network.target{' ' + dependencies if dependencies else ''}",
    ]
    if dependencies:
        lines.append(f"Requires={dependencies}")
    lines += [
        "",
        "[Service]",
        "Type=simple",
        f"WorkingDirectory={instance_dir}",
        f"EnvironmentFile={env_folder}/{service}.env",
        f"EnvironmentFile=-{env_folder}/{service}.secrets.env",
        f"ExecStart={' '.join(command)}",
        f"Restart={RESTART[definition.restart]}",
        "RestartSec=1",
        f"TimeoutStopSec={_seconds(definition.stop_timeout)}",
        "KillMode=control-group",
        f"StandardOutput=append:{instance_dir}/{log_file(service)}",
        f"StandardError=append:{instance_dir}/{log_file(service)}",
    ]
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def slice_name(app: str, instance_id: str) -> str:
    """``roost-<app>-<id>.slice``; a dash in a slice name makes a parent, so the ones
    within the app name and the id are escaped (ids are ``[a-z0-9_-]``)."""
    return f"roost-{app.replace('-', _DASH)}-{instance_id.replace('-', _DASH)}.slice"


def _slice(target: ExportTarget) -> ExportFile:
    instance = target.instance
    limits = effective_limits(target.spec.limits, target.config)
    lines = [
        f"# Generated by roost: instance {instance.instance_id} of app {instance.app}.",
        "# Its services run in this slice, and its limits hold for all of them together.",
        "[Unit]",
        f"Description=roost {instance.app}: instance {instance.instance_id}",
        "",
        "[Slice]",
    ]
    if limits.memory is not None:
        lines.append(f"MemoryMax={limits.memory}")
    if limits.cpu is not None:
        lines.append(f"CPUQuota={round(limits.cpu * 100)}%")
    if limits.pids is not None:
        lines.append(f"TasksMax={limits.pids}")
    return ExportFile(slice_name(instance.app, instance.instance_id), "\n".join(lines) + "\n")


def _in_slice(app: str, instance_id: str) -> str:
    return (
        "# Generated by roost: this service runs in its instance's slice.\n"
        f"[Service]\nSlice={slice_name(app, instance_id)}\n"
    )


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"
