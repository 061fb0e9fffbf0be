"""``roost serve|shutdown|init|db upgrade``: the server and the home."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from roost.cli import output
from roost.cli.base import app, command, group
from roost.cli.client import CliError, client_of
from roost.cli.server import is_healthy, spawn_server, stop_server, wait_until_healthy
from roost.home import Home
from roost.settings import check_auth

db_app = group("Registry database maintenance.")
app.add_typer(db_app, name="db")


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
    auth: Annotated[
        str | None,
        typer.Option(
            "--auth",
            help="Check bearer tokens over TCP: on, off, or auto (default: ROOST_AUTH, else"
            " auto: off when bound to a loopback address only).",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Serve a non-loopback address with auth off anyway."),
    ] = False,
) -> None:
    """Run the server: REST API, data plane, dashboard, supervisor, schedulers."""
    settings = replace(
        client_of(ctx).settings,
        autostart=autostart,
        stop_on_exit=stop_on_exit,
        auth=check_auth(auth) if auth is not None else client_of(ctx).settings.auth,
    )
    if detach:
        url = f"http://{host}:{port}"
        if is_healthy(url):
            raise CliError(f"a server already answers at {url}", "SERVER_RUNNING")
        home = Home(settings.home)
        flags = (
            *(() if autostart else ("--no-autostart",)),
            *(("--stop-on-exit",) if stop_on_exit else ()),
            "--auth",
            settings.auth,
            *(("--insecure",) if insecure else ()),
        )
        process = spawn_server(settings, host, port, flags)
        wait_until_healthy(url, process, home.server_log_file)
        output.out.print(f"roost server running at {url} (pid {process.pid}, home {settings.home})")
        return
    from roost.api.serve import run_server

    run_server(settings, host=host, port=port, insecure=insecure)


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
