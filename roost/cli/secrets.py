"""``roost secret set|list|get|rm|rotate-key``: values from stdin or a hidden prompt."""

import sys
from typing import Annotated

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import InstanceArg, JsonFlag, command, group
from roost.cli.client import client_of

secret_app = group("Secrets: encrypted per instance, never listed with values.")

NameArg = Annotated[str, typer.Argument(help="Secret name.", show_default=False)]


@command(secret_app, "set")
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


@command(secret_app, "list")
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


@command(secret_app, "get")
def get(ctx: typer.Context, instance_id: InstanceArg, name: NameArg) -> None:
    """Print a secret's value (recorded as an event)."""
    value = client_of(ctx).json("GET", f"/v1/instances/{instance_id}/secrets/{name}")["value"]
    sys.stdout.write(value + "\n")


@command(secret_app, "rm")
def rm(ctx: typer.Context, instance_id: InstanceArg, name: NameArg) -> None:
    """Delete a secret."""
    client_of(ctx).request("DELETE", f"/v1/instances/{instance_id}/secrets/{name}")
    output.out.print(f"{instance_id}: secret {name} deleted")


@command(secret_app, "rotate-key")
def rotate_key(ctx: typer.Context) -> None:
    """Re-encrypt every secret and private key under a new home key."""
    count = client_of(ctx).json("POST", "/v1/secret-key/rotate")["reencrypted"]
    output.out.print(f"re-encrypted {count} secrets and keys under a new key")
