"""``roost user add|list|rm``, ``roost token create|list|revoke``, ``roost share``:
who may reach a server that checks tokens, and what each instance's owner shares."""

from typing import Annotated, Any

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import InstanceArg, JsonFlag, command, group
from roost.cli.client import client_of

user_app = group("Users: who may hold tokens (admins only).")
token_app = group("Bearer tokens for a server that checks them.")

UserArg = Annotated[str, typer.Argument(help="User name.", show_default=False)]
ROLE_HELP = "admin, owner, operator or viewer."


@command(user_app, "add")
def user_add(
    ctx: typer.Context,
    name: UserArg,
    admin: Annotated[bool, typer.Option("--admin", help="May do everything.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a user."""
    made = client_of(ctx).json("POST", "/v1/users", json={"name": name, "admin": admin})
    if as_json:
        output.print_json(made)
    else:
        output.out.print(f"added {made['name']}" + (" (admin)" if made["admin"] else ""))


@command(user_app, "list")
def user_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List users."""
    found = client_of(ctx).json("GET", "/v1/users")["users"]
    output.print_rows(found, _user_table, as_json=as_json, none="no users")


@command(user_app, "rm")
def user_rm(ctx: typer.Context, name: UserArg) -> None:
    """Remove a user with its tokens and grants (what it owns stays)."""
    client_of(ctx).request("DELETE", f"/v1/users/{name}")
    output.out.print(f"removed {name}")


def _user_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "ADMIN", "CREATED"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], "yes" if row["admin"] else "", row["created_at"])
    return table


@command(token_app, "create")
def token_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)] = "viewer",
    admin: Annotated[
        bool, typer.Option("--admin", help="An admin token (role admin; run on the host).")
    ] = False,
    user: Annotated[str | None, typer.Option("--user", help="For this user (an admin).")] = None,
    instance: Annotated[
        list[str] | None, typer.Option("--instance", "-i", help="Only this instance (repeat).")
    ] = None,
    app: Annotated[
        list[str] | None, typer.Option("--app", help="Only this app's instances (repeat).")
    ] = None,
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", help="Seconds it is good for.", min=1)
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a token; it is printed this once, and never again."""
    body: dict[str, Any] = {"role": "admin" if admin else role}
    for key, value in (
        ("user", user),
        ("instances", instance),
        ("apps", app),
        ("expires_in", expires_in),
        ("name", name),
    ):
        if value:
            body[key] = value
    made = client_of(ctx).json("POST", "/v1/tokens", json=body)
    if as_json:
        output.print_json(made)
        return
    output.err.print(f"token {made['id']} for {made['user']} ({made['role']}), shown once:")
    output.out.print(made["token"], markup=False)


@command(token_app, "list")
def token_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List tokens (never the tokens themselves)."""
    found = client_of(ctx).json("GET", "/v1/tokens")["tokens"]
    output.print_rows(found, _token_table, as_json=as_json, none="no tokens")


@command(token_app, "revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id.", show_default=False)],
) -> None:
    """Revoke a token: it stops working at once."""
    client_of(ctx).request("DELETE", f"/v1/tokens/{token_id}")
    output.out.print(f"revoked {token_id}")


def _token_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "USER", "ROLE", "SCOPE", "EXPIRES", "REVOKED", "NAME"):
        table.add_column(column, overflow="fold")
    for row in rows:
        scope = [*(row["instances"] or ()), *(f"app:{a}" for a in row["apps"] or ())]
        table.add_row(
            row["id"],
            row["user"],
            row["role"],
            ",".join(scope) or "all",
            row["expires_at"] or "-",
            row["revoked_at"] or "",
            row["name"] or "",
        )
    return table


@command(name="share")
def share(
    ctx: typer.Context,
    instance_id: InstanceArg,
    user: UserArg,
    role: Annotated[str, typer.Option("--role", help="viewer, operator or owner.")] = "viewer",
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the grant back.")] = False,
) -> None:
    """Give a user a role on an instance you own (or take it back with --revoke)."""
    client = client_of(ctx)
    if revoke:
        client.request("DELETE", f"/v1/instances/{instance_id}/grants/{user}")
        output.out.print(f"{user} no longer has {instance_id}")
        return
    client.json("POST", f"/v1/instances/{instance_id}/grants", json={"user": user, "role": role})
    output.out.print(f"{user} is {role} of {instance_id}")
