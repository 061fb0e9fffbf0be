"""``roost secret set|list|get|rm|rotate-key``: values from stdin or a hidden prompt."""

import sys
from typing import Annotated

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.client import client_of

secret_app = typer.Typer(
    help="Secrets: encrypted per instance, never listed with values.", no_args_is_help=True
)

InstanceArg = Annotated[str, typer.Argument(help="Instance id.", show_default=False)]
NameArg = Annotated[str, typer.Argument(help="Secret name.", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def set_(ctx: typer.Context, instance_id: InstanceArg, name: NameArg) -> None:
    """Set a secret. The value comes from stdin, or a hidden prompt; never from the command line."""
    if sys.stdin.isatty():
        value = typer.prompt(f"{name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read().removesuffix("\n")
    client_of(ctx).request(
        "PUT", f"/v1/instances/{instance_id}/secrets/{name}", json={"value": value}
    )
    output.out.print(f"{instance_id}: secret {name} set")


def list_(ctx: typer.Context, instance_id: InstanceArg, as_json: JsonFlag = False) -> None:
    """Secret names and when each was set (never values)."""
    found = client_of(ctx).json("GET", f"/v1/instances/{instance_id}/secrets")["secrets"]
    if as_json:
        output.print_json(found)
        return
    if not found:
        output.out.print("no secrets")
        return
    table = Table(box=None, header_style="bold")
    table.add_column("NAME")
    table.add_column("UPDATED")
    for secret in found:
        table.add_row(secret["name"], secret["updated_at"])
    output.out.print(table)


def get(ctx: typer.Context, instance_id: InstanceArg, name: NameArg) -> None:
    """Print a secret's value (recorded as an event)."""
    value = client_of(ctx).json("GET", f"/v1/instances/{instance_id}/secrets/{name}")["value"]
    sys.stdout.write(value + "\n")


def rm(ctx: typer.Context, instance_id: InstanceArg, name: NameArg) -> None:
    """Delete a secret."""
    client_of(ctx).request("DELETE", f"/v1/instances/{instance_id}/secrets/{name}")
    output.out.print(f"{instance_id}: secret {name} deleted")


def rotate_key(ctx: typer.Context) -> None:
    """Re-encrypt every secret and private key under a new home key."""
    count = client_of(ctx).json("POST", "/v1/secret-key/rotate")["reencrypted"]
    output.out.print(f"re-encrypted {count} secrets and keys under a new key")


def _register() -> None:
    from roost.cli.main import command

    for function, name in (
        (set_, "set"),
        (list_, "list"),
        (get, "get"),
        (rm, "rm"),
        (rotate_key, "rotate-key"),
    ):
        command(target=secret_app, name=name)(function)


_register()
