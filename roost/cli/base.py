"""What every command module shares: the ``roost`` Typer app with its global options,
the decorator that makes each error one line, and the options every command spells
the same way. Command modules import this; ``main.py`` only assembles them."""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from roost.cli import output
from roost.cli.client import Client, CliError
from roost.domain.errors import RoostError
from roost.settings import Settings

app = typer.Typer(
    name="roost",
    help="Run many isolated instances of an application on one host.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

F = TypeVar("F", bound=Callable[..., Any])

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
InstanceArg = Annotated[str, typer.Argument(help="Instance id.", show_default=False)]
TargetArg = Annotated[
    str,
    typer.Argument(
        help="Instance id, 'all', or SERVICE@ID for one service.",
        show_default=False,
        metavar="ID|all|SERVICE@ID",
    ),
]


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


def group(help_text: str) -> typer.Typer:
    """A group of subcommands (``roost apps ...``)."""
    return typer.Typer(help=help_text, no_args_is_help=True)


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
