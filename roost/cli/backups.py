"""``roost backup ID|all``, ``roost backup verify ID NAME``, ``roost backups ID``,
``roost restore ID NAME`` and ``roost restore NEWID --from ORPHAN``: archives of
instances."""

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import InstanceArg, JsonFlag, TargetArg, command
from roost.cli.client import Client, CliError, client_of
from roost.cli.run import AppOption, TagOption, many, select

POLL_S = 0.2


@command(name="backup")
def backup(
    ctx: typer.Context,
    target: TargetArg,
    more: Annotated[
        list[str] | None,
        typer.Argument(
            help="With 'verify' or 'rm': the instance and the backup's name.",
            show_default=False,
        ),
    ] = None,
    app: AppOption = None,
    tag: TagOption = None,
    note: Annotated[str | None, typer.Option("--note", help="Kept with the backup.")] = None,
    with_logs: Annotated[bool, typer.Option("--with-logs", help="Its logs too.")] = False,
    to: Annotated[
        str | None,
        typer.Option("--target", help="archive or restic (default: the app's or config's)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Until each is completed or failed.")
    ] = True,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="rm: do not ask.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Back up instances (ID or all); exit 1 if any backup failed.
    ``roost backup verify ID NAME`` reads one through and checks it; ``roost backup rm
    ID NAME`` removes one."""
    client = client_of(ctx)
    if target == "verify" and more:
        _verify(client, more, as_json)
        return
    if target == "rm" and more:
        instance_id, name = _instance_and_name(more, "rm")
        if not yes and not typer.confirm(f"remove backup {name} of {instance_id}?"):
            raise CliError("not removed", "ABORTED")
        client.request("DELETE", f"/v1/instances/{instance_id}/backups/{name}")
        output.out.print(f"removed backup {name} of {instance_id}")
        return
    if more:
        raise CliError("give one instance id, or: backup verify|rm ID NAME", "USAGE_ERROR")
    ids = select(client, target, app, tag, runnable=False)
    body: dict[str, Any] = {"with_logs": with_logs, **({"note": note} if note else {})}
    if to is not None:
        body["target"] = to

    show = len(ids) == 1 and output.err.is_terminal  # many: their own bar counts them

    def one(instance_id: str) -> str:
        record = client.json("POST", f"/v1/instances/{instance_id}/backups", json=body)
        if wait:
            record = _finished(client, instance_id, record["name"], show)
        if record["status"] == "failed":
            raise CliError(f"backup {record['name']} failed: {record['error']}", "BACKUP_FAILED")
        if as_json:
            return output.dumps(record)
        size = output.short_size(record["size"]) if record["size"] is not None else "-"
        return f"{instance_id}: {record['name']} {record['status']} ({size})"

    many(ids, "backup", one)


def _finished(client: Client, instance_id: str, name: str, show: bool) -> dict[str, Any]:
    """The record once the backup ended; with ``show``, a bar of the bytes read."""
    path = f"/v1/instances/{instance_id}/backups/{name}"
    if not show:
        while (record := client.json("GET", path))["status"] == "running":
            time.sleep(POLL_S)
        return record  # type: ignore[no-any-return]
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn(f"{instance_id}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=output.err, transient=True) as bar:
        task = bar.add_task(name, total=None)
        while True:
            record = client.json("GET", path)
            if record.get("progress") and record["progress"]["total"]:
                done = record["progress"]
                bar.update(task, total=done["total"], completed=done["bytes"])
            if record["status"] != "running":
                return record  # type: ignore[no-any-return]
            time.sleep(POLL_S)


@command(name="backups")
def backups(
    ctx: typer.Context,
    instance_id: Annotated[
        str | None, typer.Argument(help="The instance.", show_default=False)
    ] = None,
    orphaned: Annotated[
        bool, typer.Option("--orphaned", help="Those whose instance was deleted (admins).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """An instance's backups, newest first, failed ones with their reason."""
    if orphaned == (instance_id is not None):
        raise CliError("give an instance id, or --orphaned", "USAGE_ERROR")
    path = "/v1/backups/orphaned" if orphaned else f"/v1/instances/{instance_id}/backups"
    found = client_of(ctx).json("GET", path)["backups"]
    none = "no orphaned backups" if orphaned else f"{instance_id} has no backups"
    output.print_rows(found, _table, as_json=as_json, none=none)


def _instance_and_name(args: list[str], verb: str) -> tuple[str, str]:
    if len(args) != 2:
        raise CliError(f"backup {verb} takes an instance id and a backup's name", "USAGE_ERROR")
    return args[0], args[1]


def _verify(client: Client, args: list[str], as_json: bool) -> None:
    instance_id, name = _instance_and_name(args, "verify")
    verified = client.json("POST", f"/v1/instances/{instance_id}/backups/{name}/verify")
    if as_json:
        output.print_json(verified)
    else:
        output.out.print(f"{name}: sound ({verified['files']} files, {verified['size']} bytes)")


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("INSTANCE", "NAME", "KIND", "STATUS", "SIZE", "CREATED", "NOTE / ERROR"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["instance_id"],
            row["name"],
            row["kind"],
            row["status"],
            output.short_size(row["size"]) if row["size"] is not None else "-",
            row["created_at"],
            row["error"] or row["note"] or "",
        )
    return table


@command(name="restore")
def restore(
    ctx: typer.Context,
    instance_id: InstanceArg,
    name: Annotated[
        str | None, typer.Argument(help="The backup's name.", show_default=False)
    ] = None,
    orphan: Annotated[
        str | None,
        typer.Option("--from", help="An orphaned backup: made into the new instance ID (admins)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Put a backup back into its instance (a pre-restore backup is taken first; any
    failure leaves everything as it was), or with ``--from NAME`` make a new instance
    ID from an orphaned backup."""
    if (name is None) == (orphan is None):
        raise CliError("give a backup's name, or --from an orphaned backup", "USAGE_ERROR")
    client = client_of(ctx)
    if orphan is not None:
        body = {"instance_id": instance_id}
        made = client.json("POST", f"/v1/backups/orphaned/{orphan}/restore", json=body)
        if as_json:
            output.print_json(made)
        else:
            output.out.print(f"restored {orphan} into a new instance {made['instance_id']}")
        return
    restored = client.json("POST", f"/v1/instances/{instance_id}/backups/{name}/restore")
    if as_json:
        output.print_json(restored)
    else:
        output.out.print(f"restored {instance_id} from {name}: {restored['state']}")
