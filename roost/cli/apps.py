"""``roost apps add|list|show``: apps from ``roost.toml`` into the registry."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import JsonFlag, command, group
from roost.cli.client import CliError, client_of
from roost.settings import find_spec_file

apps_app = group("Apps: the blueprints instances follow.")


@command(apps_app, "add")
def add(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Spec file (default: the nearest roost.toml).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register every app of a spec file (a changed app needs a new version)."""
    path = file or find_spec_file(Path.cwd())
    if path is None:
        raise CliError("no roost.toml here or above; give the spec file", "SPEC_NOT_FOUND")
    # parsing a spec needs pydantic and Jinja2: imported here, not by every CLI call
    from roost.specfile import load_spec

    spec = load_spec(path)
    default = spec.default_app or (next(iter(spec.apps)) if len(spec.apps) == 1 else None)
    results: list[dict[str, Any]] = []
    for name, app in spec.apps.items():
        body = {"name": name, **app.stored_form()}
        params = {"default": "true"} if name == default else {}
        results.append(client_of(ctx).json("POST", "/v1/apps", json=body, params=params))
    if as_json:
        output.print_json(results)
        return
    for result in results:
        mark = " (default)" if result["default"] else ""
        output.out.print(f"{result['name']} {result['version']}{mark}")


@command(apps_app, "list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List apps."""
    found = client_of(ctx).json("GET", "/v1/apps")["apps"]
    if as_json:
        output.print_json(found)
        return
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "VERSION", "SERVICES", "VERSIONS", "DEFAULT"):
        table.add_column(column)
    for app in found:
        table.add_row(
            app["name"],
            app["version"],
            ",".join(app["services"]) or "-",
            str(len(app["versions"])),
            "yes" if app["default"] else "",
        )
    output.out.print(table)


@command(apps_app, "show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="App name.", show_default=False)],
    as_json: JsonFlag = False,
) -> None:
    """Show an app, its spec and its versions."""
    app = client_of(ctx).json("GET", f"/v1/apps/{name}")
    if as_json:
        output.print_json(app)
        return
    output.out.print(f"{app['name']} {app['version']}" + (" (default)" if app["default"] else ""))
    output.out.print("versions: " + ", ".join(v["version"] for v in app["versions"]))
    output.print_json(app["spec"])
