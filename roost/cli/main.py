"""``roost``: every command, as a thin client of the API (DESIGN.md "Surfaces")."""

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from roost.cli import output
from roost.cli.client import Client, CliError, client_of
from roost.cli.server import (
    ServerUnavailable,
    is_healthy,
    spawn_server,
    stop_server,
    wait_until_healthy,
)
from roost.domain.errors import RoostError
from roost.home import Home
from roost.settings import Settings

app = typer.Typer(
    name="roost",
    help="Run many isolated instances of an application on one host.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Registry database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
InstanceArg = Annotated[str, typer.Argument(help="Instance id.", show_default=False)]


def command(target: typer.Typer = app, name: str | None = None) -> Callable[[F], F]:
    """Register a command whose errors print as one line and exit 1."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except CliError as exc:
                output.print_error(exc.message, exc.code)
            except RoostError as exc:
                output.print_error(exc.message, exc.code)
            raise typer.Exit(1)

        target.command(name)(run)
        return fn

    return decorate


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None, typer.Option(help="Home directory (default: ROOST_HOME, project, XDG).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Server URL (default: ROOST_URL, http://127.0.0.1:8080).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Registry database (default: ROOST_DATABASE_URL, SQLite in the home)."),
    ] = None,
) -> None:
    settings = Settings.load(home=home, url=url, database_url=database_url)

    def started(pid: int) -> None:
        output.note(f"started roost server for {settings.home} at {settings.url} (pid {pid})")

    ctx.obj = Client(settings, on_start=started)
    ctx.call_on_close(ctx.obj.close)


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
    if as_json:
        output.print_json(rows)
    elif not rows:
        output.out.print("no ports")
    else:
        output.out.print(output.port_table(rows))


@command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.", min=1, max=65535)] = 8080,
    detach: Annotated[bool, typer.Option(help="Run in the background and return.")] = False,
    autostart: Annotated[
        bool,
        typer.Option(
            "--autostart/--no-autostart",
            help="Start the instances that should run and do not (processes that still run"
            " are adopted either way).",
        ),
    ] = True,
    stop_on_exit: Annotated[
        bool, typer.Option("--stop-on-exit", help="Stop every instance when the server stops.")
    ] = False,
) -> None:
    """Run the server: REST API, data plane, dashboard, supervisor, schedulers."""
    settings = replace(client_of(ctx).settings, autostart=autostart, stop_on_exit=stop_on_exit)
    if detach:
        url = f"http://{host}:{port}"
        if is_healthy(url):
            raise CliError(f"a server already answers at {url}", "SERVER_RUNNING")
        home = Home(settings.home)
        flags = (
            *(() if autostart else ("--no-autostart",)),
            *(("--stop-on-exit",) if stop_on_exit else ()),
        )
        process = spawn_server(settings, host, port, flags)
        wait_until_healthy(url, process, home.server_log_file)
        output.out.print(f"roost server running at {url} (pid {process.pid}, home {settings.home})")
        return
    from roost.api.serve import run_server

    run_server(settings, host=host, port=port)


INIT_FILES = ("roost.toml", "templates/backend.env.j2")


@command()
def init(
    folder: Annotated[Path, typer.Argument(help="Where to write roost.toml.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a commented example roost.toml (a two-service app) and its template."""
    source = Path(__file__).parent.parent / "templates" / "init"
    targets = [(source / name, folder / name) for name in INIT_FILES]
    existing = [str(target) for _, target in targets if target.exists()]
    if existing and not force:
        raise CliError(f"{', '.join(existing)} already exists (--force overwrites)", "FILE_EXISTS")
    for origin, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(origin.read_text())
    output.out.print(f"wrote {folder / 'roost.toml'}: next, `roost apps add` and `roost create 1`")


@command()
def shutdown(ctx: typer.Context) -> None:
    """Stop the background server of this home (its instances keep running)."""
    pid = stop_server(Home(client_of(ctx).settings.home))
    output.out.print(
        "no roost server runs for this home" if pid is None else f"stopped server (pid {pid})"
    )


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
    as_json: JsonFlag = False,
) -> None:
    """Create an instance."""
    body: dict[str, Any] = {
        "tags": tag or [],
        "config": _parse_config(config or []),
        "ports": _parse_ports(port or []),
        "auto_ports": auto_ports,
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
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Has this tag (repeatable).")
    ] = None,
    q: Annotated[str | None, typer.Option("--q", help="Substring of id or name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List instances."""
    params: list[tuple[str, str]] = [("limit", "1000")]
    for key, value in (("app", app_name), ("version", version), ("state", state), ("q", q)):
        if value is not None:
            params.append((key, value))
    params += [("tag", t) for t in tag or []]
    found = client_of(ctx).collect("/v1/instances", "instances", params)
    if as_json:
        output.print_json(found)
    elif not found:
        output.out.print("no instances")
    else:
        output.out.print(output.instance_table(found))


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
) -> None:
    """Delete an instance and everything it owns."""
    if not yes and not typer.confirm(f"delete instance {instance_id}?", default=False):
        raise CliError("not deleted", "ABORTED")
    client_of(ctx).request("DELETE", f"/v1/instances/{instance_id}")
    output.out.print(f"deleted {instance_id}")


@command()
def clone(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Instance to copy.", show_default=False)],
    instance_id: Annotated[
        str | None, typer.Argument(help="The copy's id (default: a new UUID).", show_default=False)
    ] = None,
    name: Annotated[str | None, typer.Option(help="The copy's name.")] = None,
    data: Annotated[bool, typer.Option("--data/--no-data", help="Copy data/ too.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Copy an instance: its own id, ordinal and ports; config, tags, secrets, files, data."""
    body: dict[str, Any] = {"with_data": data}
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
    instance_id: Annotated[str, typer.Argument(help="Instance id.", show_default=False)],
    version: Annotated[
        str | None, typer.Option("--version", help="Target version (default: the app's current).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move an instance to another app version: re-render its files, restart it if active."""
    before = client_of(ctx).json("GET", f"/v1/instances/{instance_id}")
    body = {} if version is None else {"version": version}
    after = client_of(ctx).json("POST", f"/v1/instances/{instance_id}/upgrade", json=body)
    if as_json:
        output.print_json(after)
    elif before["version"] == after["version"]:
        output.out.print(f"{instance_id} is already on {after['app']} {after['version']}")
    else:
        output.out.print(
            f"upgraded {instance_id}: {after['app']} {before['version']} -> {after['version']}"
        )


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
    from roost.cli.run import many, select

    client = client_of(ctx)

    def work(instance_id: str) -> str:
        client.request("POST", f"/v1/instances/{instance_id}/clean")
        return f"cleaned {instance_id}"

    many(select(client, target, None, None), "clean", work)


@command()
def events(
    ctx: typer.Context,
    instance: Annotated[
        str | None, typer.Option("--instance", "-i", help="Only this instance.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="RFC 3339 time.")] = None,
    limit: Annotated[int, typer.Option(help="How many.", min=1, max=1000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show the audit trail of control-plane changes."""
    params: dict[str, Any] = {"limit": limit}
    if instance:
        params["instance_id"] = instance
    if since:
        params["since"] = since
    found = client_of(ctx).json("GET", "/v1/events", params=params)["events"]
    if as_json:
        output.print_json(found)
    elif not found:
        output.out.print("no events")
    else:
        output.out.print(output.event_table(found))


@command(target=db_app, name="upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending registry migrations (roost serve also does this at start)."""
    import asyncio

    from roost.registry.database import Registry

    settings = client_of(ctx).settings

    async def upgrade() -> None:
        registry = Registry(settings.database_url)
        try:
            await registry.open()
        finally:
            await registry.close()

    asyncio.run(upgrade())
    output.out.print(f"registry is up to date ({settings.database_url.split('://')[0]})")


GLOBAL_OPTIONS = ("--home", "--url", "--database-url")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Let ``--home``/``--url``/``--database-url`` stand anywhere, as in ``roost serve --home D``.

    Click only takes a group's options before the command name; people put them after.
    """
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            rest += argv[index:]
            break
        name = word.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in word:
                hoisted.append(word)
            else:
                hoisted += argv[index : index + 2]
                index += 1
        else:
            rest.append(word)
        index += 1
    return hoisted + rest


def _add_command_groups() -> None:
    from roost.cli.apps import apps_app
    from roost.cli.cache import cache_app
    from roost.cli.config import config_app
    from roost.cli.exports import export_app
    from roost.cli.run import _register as register_run_commands
    from roost.cli.secrets import secret_app

    app.add_typer(apps_app, name="apps")
    app.add_typer(cache_app, name="cache")
    app.add_typer(secret_app, name="secret")
    app.add_typer(config_app, name="config")
    app.add_typer(export_app, name="export")
    register_run_commands()


_add_command_groups()


def main() -> None:
    """The ``roost`` executable: every error, usage errors included, is one line."""
    try:
        result = app(
            args=hoist_global_options(sys.argv[1:]), prog_name="roost", standalone_mode=False
        )
    except typer.TyperException as exc:  # usage errors: unknown command, missing option ...
        output.print_error(exc.format_message(), "USAGE_ERROR")
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        output.print_error("aborted", "ABORTED")
        raise SystemExit(1) from None
    except ServerUnavailable as exc:  # raised before a command's own handler could run
        output.print_error(exc.message, exc.code)
        raise SystemExit(1) from None
    if isinstance(result, int) and result:
        raise SystemExit(result)
