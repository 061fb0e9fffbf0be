"""``roost webhook add|list|rm|deliveries|ping``: where alerts are POSTed (admins)."""

import os
from typing import Annotated, Any

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import JsonFlag, command, group
from roost.cli.client import client_of

webhook_app = group("Webhooks: alerts POSTed to a URL (admins only).")
WebhookArg = Annotated[str, typer.Argument(help="The webhook's id.", show_default=False)]
SECRET_ENV = "ROOST_WEBHOOK_SECRET"


@command(webhook_app, "add")
def webhook_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST.", show_default=False)],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            "-e",
            help="instance.health, instance.failed, service.exited or backup.failed "
            "(repeat; default: all).",
        ),
    ] = None,
    instance: Annotated[
        list[str] | None, typer.Option("--instance", "-i", help="Only this instance (repeat).")
    ] = None,
    app: Annotated[
        list[str] | None, typer.Option("--app", help="Only this app's instances (repeat).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a webhook; with ROOST_WEBHOOK_SECRET set, each body is signed with it."""
    body: dict[str, Any] = {"url": url}
    for key, value in (("events", event), ("instances", instance), ("apps", app)):
        if value:
            body[key] = value
    if os.environ.get(SECRET_ENV):
        body["secret"] = os.environ[SECRET_ENV]
    made = client_of(ctx).json("POST", "/v1/webhooks", json=body)
    if as_json:
        output.print_json(made)
    else:
        signed = " (signed)" if made["signed"] else ""
        output.out.print(f"added webhook {made['id']} → {made['url']}{signed}")


@command(webhook_app, "list")
def webhook_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List webhooks (never their secrets)."""
    found = client_of(ctx).json("GET", "/v1/webhooks")["webhooks"]
    output.print_rows(found, _webhook_table, as_json=as_json, none="no webhooks")


@command(webhook_app, "rm")
def webhook_rm(ctx: typer.Context, webhook_id: WebhookArg) -> None:
    """Remove a webhook and its deliveries."""
    client_of(ctx).request("DELETE", f"/v1/webhooks/{webhook_id}")
    output.out.print(f"removed webhook {webhook_id}")


@command(webhook_app, "ping")
def webhook_ping(ctx: typer.Context, webhook_id: WebhookArg) -> None:
    """Send a webhook.ping now (`roost webhook deliveries` shows how it went)."""
    client_of(ctx).request("POST", f"/v1/webhooks/{webhook_id}/ping")
    output.out.print(f"pinged webhook {webhook_id}")


@command(webhook_app, "deliveries")
def webhook_deliveries(
    ctx: typer.Context,
    webhook_id: WebhookArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """A webhook's latest deliveries: status, attempts, the last answer or error."""
    path = f"/v1/webhooks/{webhook_id}/deliveries"
    found = client_of(ctx).json("GET", path, params={"limit": limit})["deliveries"]
    output.print_rows(found, _delivery_table, as_json=as_json, none="no deliveries yet")


def _webhook_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "URL", "EVENTS", "FOR", "SIGNED"):
        table.add_column(column)
    for row in rows:
        scope = [*(row["instances"] or []), *(f"app {a}" for a in row["apps"] or [])]
        table.add_row(
            row["id"],
            row["url"],
            ", ".join(row["events"] or ["all"]),
            ", ".join(scope) or "all",
            "yes" if row["signed"] else "",
        )
    return table


def _delivery_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "EVENT", "INSTANCE", "STATUS", "ATTEMPTS", "LAST", "AT"):
        table.add_column(column)
    for row in rows:
        last = row["last_error"] or (str(row["last_status_code"] or "") or "-")
        table.add_row(
            row["id"],
            row["event"],
            row["instance_id"] or "-",
            row["status"],
            str(row["attempts"]),
            last,
            row["created_at"],
        )
    return table
