"""``roost``: every command, as a thin client of the API (DESIGN.md "Surfaces").

This module only assembles: each command module registers its commands on the app of
``base.py`` when it is imported, and :func:`main` runs it.
"""

import sys

import typer

from roost.cli import access, admin, backups, health, instances, metrics, output, run, status
from roost.cli.apps import apps_app
from roost.cli.base import app
from roost.cli.cache import cache_app
from roost.cli.client import CliError
from roost.cli.config import config_app
from roost.cli.exports import export_app
from roost.cli.secrets import secret_app
from roost.cli.server import ServerUnavailable
from roost.cli.webhooks import webhook_app
from roost.domain.errors import RoostError

__all__ = ["app", "hoist_global_options", "main"]

COMMAND_MODULES = (
    access,
    admin,
    backups,
    health,
    instances,
    metrics,
    run,
    status,
)  # importing each registers its commands on ``app``
app.add_typer(apps_app, name="apps")
app.add_typer(cache_app, name="cache")
app.add_typer(secret_app, name="secret")
app.add_typer(config_app, name="config")
app.add_typer(export_app, name="export")
app.add_typer(access.user_app, name="user")
app.add_typer(access.token_app, name="token")
app.add_typer(webhook_app, name="webhook")

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
    except (ServerUnavailable, RoostError, CliError) as exc:  # before a command's own handler
        output.print_error(exc.message, exc.code)
        raise SystemExit(1) from None
    if isinstance(result, int) and result:
        raise SystemExit(result)
