"""``roost export systemd|compose|instance`` and ``roost import``."""

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from roost.cli import output
from roost.cli.base import TargetArg, command, group
from roost.cli.client import Client, CliError, client_of

export_app = group("Instances as files for other engines, or as a portable document.")

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")]
SecretsFlag = Annotated[
    bool,
    typer.Option("--with-secrets", help="Also export secrets (files of mode 0600 / sealed)."),
]
PASSPHRASE_VARIABLE = "ROOST_PASSPHRASE"


def _ids(target: str) -> list[str] | None:
    return None if target == "all" else [target]


def _passphrase(*, confirm: bool) -> str:
    """From ``ROOST_PASSPHRASE``, else a hidden prompt; never from the command line."""
    given = os.environ.get(PASSPHRASE_VARIABLE)
    if given:
        return given
    if not sys.stdin.isatty():
        raise CliError(
            f"a passphrase is needed: set {PASSPHRASE_VARIABLE} or run in a terminal",
            "PASSPHRASE_REQUIRED",
        )
    passphrase: str = typer.prompt("passphrase", hide_input=True, confirmation_prompt=confirm)
    return passphrase


def _write(path: Path, content: str, mode: int) -> None:
    try:
        from roost.instance_dir import write_atomic

        write_atomic(path, content, mode=mode)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}", "FILE_NOT_WRITABLE") from None


def _write_export(client: Client, kind: str, target: str, out: Path, with_secrets: bool) -> None:
    folder = out.resolve()
    body = {"instance_ids": _ids(target), "out": str(folder), "with_secrets": with_secrets}
    files = client.json("POST", f"/v1/exports/{kind}", json=body)["files"]
    if not files:
        raise CliError("nothing to export: no instance with services", "NOTHING_TO_EXPORT")
    for file in files:
        from roost.domain.templates import check_inside

        check_inside(file["path"])
        _write(folder / file["path"], file["content"], file["mode"])
    output.out.print(f"wrote {len(files)} files to {folder}")


@command(export_app, "systemd")
def systemd(
    ctx: typer.Context, target: TargetArg, out: OutOption, with_secrets: SecretsFlag = False
) -> None:
    """Template units roost-<app>-<service>@.service; per instance env files and a slice."""
    _write_export(client_of(ctx), "systemd", target, out, with_secrets)
    output.out.print(
        f"install: cp -r {out}/*.service {out}/*.service.d {out}/*.slice /etc/systemd/system/"
        " && systemctl daemon-reload, then systemctl enable --now"
        " roost-<app>-<service>@<id>.service"
    )


@command(export_app, "compose")
def compose(
    ctx: typer.Context, target: TargetArg, out: OutOption, with_secrets: SecretsFlag = False
) -> None:
    """A compose file per app; an override and .env (project roost-<app>-<id>) per instance."""
    _write_export(client_of(ctx), "compose", target, out, with_secrets)
    output.out.print(f"run one: cd {out}/<app>/<id> && docker compose up -d")


@command(export_app, "instance")
def instance(
    ctx: typer.Context,
    target: TargetArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
    with_secrets: SecretsFlag = False,
) -> None:
    """An instance's registration (or every one's) as a document roost import reads."""
    if format not in ("yaml", "json"):
        raise CliError(f"--format must be yaml or json, not {format!r}", "INVALID_FORMAT")
    headers = {"X-Roost-Passphrase": _passphrase(confirm=True)} if with_secrets else {}
    body = {"instance_ids": _ids(target), "format": format, "secrets": with_secrets}
    text = client_of(ctx).request("POST", "/v1/instances/export", json=body, headers=headers).text
    if out is None:
        sys.stdout.write(text)
        return
    _write(out, text, 0o600 if with_secrets else 0o644)
    output.out.print(f"wrote {out}")


@command(name="import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A document from roost export instance ('-': stdin).")
    ],
    auto_ports: Annotated[
        bool, typer.Option("--auto-ports", help="Move ports taken here instead of failing.")
    ] = False,
) -> None:
    """Create the instances of an export document: all of them, or none."""
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}", "FILE_NOT_READABLE") from None
    from roost.transfer import load_text  # pydantic and PyYAML: only when importing

    document: Any = load_text(text)
    sealed = isinstance(document, dict) and any(
        isinstance(entry, dict) and entry.get("secrets")
        for entry in document.get("instances") or []
    )
    headers = {"X-Roost-Passphrase": _passphrase(confirm=False)} if sealed else {}
    created = client_of(ctx).json(
        "POST",
        "/v1/instances/import",
        json=document,
        params={"auto_ports": str(auto_ports).lower()},
        headers=headers,
    )["instances"]
    for item in created:
        ports = " ".join(f"{name}:{port}" for name, port in item["ports"].items())
        output.out.print(f"imported {item['instance_id']}" + (f" ({ports})" if ports else ""))
