"""``roost create|list|show|rm|clone|upgrade|clean|recover|ports|events``: instances as
records, through the API."""

import json
from typing import Annotated, Any

import typer

from roost.cli import output
from roost.cli.base import InstanceArg, JsonFlag, TargetArg, command
from roost.cli.client import CliError, client_of
from roost.cli.run import (
    AppOption,
    MaxUnavailable,
    RollingFlag,
    RollTimeout,
    TagOption,
    many,
    one_of,
    select,
    streamed,
)


def _parse_config(pairs: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CliError(f"config must be KEY=VALUE, got {pair!r}", "INVALID_CONFIG")
        try:
            config[key] = json.loads(raw)
        except ValueError:
            config[key] = raw
    return config


def _parse_ports(pairs: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for pair in pairs:
        name, sep, number = pair.partition("=")
        if not sep or not name or not number.isdigit():
            raise CliError(f"a port is NAME=PORT, got {pair!r}", "INVALID_PORT")
        ports[name] = int(number)
    return ports


@command()
def create(
    ctx: typer.Context,
    instance_id: Annotated[
        str | None, typer.Argument(help="Instance id (default: a new UUID).", show_default=False)
    ] = None,
    app_name: Annotated[
        str | None, typer.Option("--app", help="App (default: the default app).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="App version.")] = None,
    name: Annotated[str | None, typer.Option(help="Human-readable name.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")] = None,
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="KEY=VALUE (JSON value; repeatable).")
    ] = None,
    port: Annotated[
        list[str] | None, typer.Option("--port", "-p", help="NAME=PORT, instead of the spec's.")
    ] = None,
    auto_ports: Annotated[
        bool, typer.Option("--auto-ports", help="A conflicting port falls back to a free one.")
    ] = False,
    validate: Annotated[
        bool, typer.Option("--validate", help="Run the app's validate probe first.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create an instance."""
    body: dict[str, Any] = {
        "tags": tag or [],
        "config": _parse_config(config or []),
        "ports": _parse_ports(port or []),
        "auto_ports": auto_ports,
        "validate": validate,
    }
    for key, value in (
        ("instance_id", instance_id),
        ("app", app_name),
        ("version", version),
        ("name", name),
    ):
        if value is not None:
            body[key] = value
    created = client_of(ctx).json("POST", "/v1/instances", json=body)
    if as_json:
        output.print_json(created)
    else:
        output.out.print(f"created {created['instance_id']} ({created['app']}, {created['state']})")


@command(name="list")
def list_(
    ctx: typer.Context,
    app_name: Annotated[str | None, typer.Option("--app", help="Only this app.")] = None,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    health: Annotated[
        str | None, typer.Option(help="Only this health (healthy, unhealthy, unknown, error).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Has this tag (repeatable).")
    ] = None,
    q: Annotated[str | None, typer.Option("--q", help="Substring of id or name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List instances."""
    params: list[tuple[str, str]] = [("limit", "1000")]
    filters = (("app", app_name), ("version", version), ("state", state), ("health", health))
    for key, value in (*filters, ("q", q)):
        if value is not None:
            params.append((key, value))
    params += [("tag", t) for t in tag or []]
    found = client_of(ctx).collect("/v1/instances", "instances", params)
    output.print_rows(found, output.instance_table, as_json=as_json, none="no instances")


@command()
def show(ctx: typer.Context, instance_id: InstanceArg, as_json: JsonFlag = False) -> None:
    """Show one instance."""
    item = client_of(ctx).json("GET", f"/v1/instances/{instance_id}")
    if as_json:
        output.print_json(item)
    else:
        output.out.print(output.instance_detail(item))


@command()
def rm(
    ctx: typer.Context,
    instance_id: InstanceArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    backup: Annotated[
        bool, typer.Option("--backup", help="A pre-delete backup first, kept after it.")
    ] = False,
) -> None:
    """Delete an instance and everything it owns (--backup: keep a backup of it)."""
    if not yes and not typer.confirm(f"delete instance {instance_id}?", default=False):
        raise CliError("not deleted", "ABORTED")
    params = {"backup": "true"} if backup else {}
    client_of(ctx).request("DELETE", f"/v1/instances/{instance_id}", params=params)
    output.out.print(
        f"deleted {instance_id}" + (" (a pre-delete backup is kept)" if backup else "")
    )


@command()
def clone(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Instance to copy.", show_default=False)],
    instance_id: Annotated[
        str | None, typer.Argument(help="The copy's id (default: a new UUID).", show_default=False)
    ] = None,
    name: Annotated[str | None, typer.Option(help="The copy's name.")] = None,
    data: Annotated[bool, typer.Option("--data/--no-data", help="Copy data/ too.")] = True,
    from_backup: Annotated[
        str | None,
        typer.Option("--from-backup", help="As this backup of SOURCE holds it.", metavar="NAME"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Copy an instance: its own id, ordinal and ports; config, tags, secrets, files, data
    (as they are now, or as one of its backups holds them)."""
    body: dict[str, Any] = {"with_data": data}
    if from_backup is not None:
        body["from_backup"] = from_backup
    if instance_id is not None:
        body["instance_id"] = instance_id
    if name is not None:
        body["name"] = name
    clone = client_of(ctx).json("POST", f"/v1/instances/{source}/clone", json=body)
    if as_json:
        output.print_json(clone)
    else:
        ports = " ".join(f"{n}:{p}" for n, p in clone["ports"].items())
        output.out.print(
            f"cloned {source} to {clone['instance_id']}" + (f" ({ports})" if ports else "")
        )


@command()
def upgrade(
    ctx: typer.Context,
    target: TargetArg,
    to: Annotated[
        str | None,
        typer.Option("--to", "--version", help="Target version (default: the app's current)."),
    ] = None,
    app: AppOption = None,
    tag: TagOption = None,
    rolling: RollingFlag = False,
    max_unavailable: MaxUnavailable = 1,
    timeout: RollTimeout = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """Move instances (ID or all) to another app version: re-render their files, restart
    the active ones (--rolling: a few at a time, each healthy before the next)."""
    client = client_of(ctx)
    ids = select(client, target, app, tag, runnable=False)
    extra: dict[str, Any] = {} if to is None else {"version": to}
    if rolling:
        extra["rolling"] = {"max_unavailable": max_unavailable, "timeout": timeout}
    if len(ids) == 1 and not rolling:
        instance_id = ids[0]
        before = client.json("GET", f"/v1/instances/{instance_id}")
        after = client.json("POST", f"/v1/instances/{instance_id}/upgrade", json=extra)
        if as_json:
            output.print_json(after)
        elif before["version"] == after["version"]:
            output.out.print(f"{instance_id} is already on {after['app']} {after['version']}")
        else:
            output.out.print(
                f"upgraded {instance_id}: {after['app']} {before['version']} -> {after['version']}"
            )
        return

    def line(instance: dict[str, Any]) -> str:
        if as_json:
            return output.dumps(instance)
        return f"{instance['instance_id']}: {instance['app']} {instance['version']}"

    batch = streamed(client, "/v1/instances/upgrade", extra, line)
    many(ids, "upgrade", one_of(batch), batch)


@command()
def recover(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Rebuild lost registry entries from the instance directories' instance.json."""
    outcome = client_of(ctx).json("POST", "/v1/recover")
    if as_json:
        output.print_json(outcome)
        return
    for instance_id in outcome["recovered"]:
        output.out.print(f"recovered {instance_id}")
    for skipped in outcome["skipped"]:
        output.err.print(f"skipped {skipped['instance_id']}: {skipped['reason']}")
    output.out.print(
        f"{len(outcome['recovered'])} recovered, {len(outcome['present'])} already registered,"
        f" {len(outcome['skipped'])} skipped"
    )
    if outcome["skipped"]:
        raise typer.Exit(1)


@command()
def clean(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Instance id, or 'all'.", show_default=False)],
) -> None:
    """Remove rendered files, logs and data (seed 004); the instance and its ports stay."""
    client = client_of(ctx)

    def work(instance_id: str) -> str:
        client.request("POST", f"/v1/instances/{instance_id}/clean")
        return f"cleaned {instance_id}"

    many(select(client, target, None, None, runnable=False), "clean", work)


@command()
def events(
    ctx: typer.Context,
    instance: Annotated[
        str | None, typer.Option("--instance", "-i", help="Only this instance.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="RFC 3339 time.")] = None,
    limit: Annotated[int, typer.Option(help="How many.", min=1, max=1000)] = 50,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor's.")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="ok, error or denied.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the audit trail: changes, secret reads and refusals."""
    params: dict[str, Any] = {"limit": limit}
    for key, value in (
        ("instance_id", instance),
        ("since", since),
        ("actor", actor),
        ("outcome", outcome),
    ):
        if value:
            params[key] = value
    found = client_of(ctx).json("GET", "/v1/events", params=params)["events"]
    output.print_rows(found, output.event_table, as_json=as_json, none="no events")


@command()
def ports(
    ctx: typer.Context,
    instance_id: Annotated[
        str | None, typer.Argument(help="Only this instance.", show_default=False)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show allocated ports: every instance's, or one instance's."""
    client = client_of(ctx)
    if instance_id is not None:
        found = client.json("GET", f"/v1/instances/{instance_id}/ports")
        rows = [
            {"port": port, "name": name, "instance_id": instance_id}
            for name, port in found["ports"].items()
        ]
    else:
        rows = client.json("GET", "/v1/ports")["ports"]
    output.print_rows(rows, output.port_table, as_json=as_json, none="no ports")
