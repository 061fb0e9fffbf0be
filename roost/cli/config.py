"""``roost config get|set|unset``: an instance's config, keys dotted (``cache.max_keys``)."""

import json
from typing import Annotated, Any

import typer

from roost.cli import output
from roost.cli.base import InstanceArg, command, group
from roost.cli.client import CliError, client_of
from roost.domain.values import dotted_patch, lookup_dotted, merge_patch

config_app = group("An instance's config: app defaults under its overrides.")


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@command(config_app, "get")
def get(
    ctx: typer.Context,
    instance_id: InstanceArg,
    key: Annotated[str | None, typer.Argument(help="A dotted key (default: everything).")] = None,
) -> None:
    """Print the effective config, or one value of it, as JSON."""
    config = client_of(ctx).json("GET", f"/v1/instances/{instance_id}/config")["config"]
    if key is None:
        output.print_json(config)
        return
    value = lookup_dotted(config, key)
    if value is None:
        raise CliError(
            f"instance {instance_id!r} has no config key {key!r}", "CONFIG_KEY_NOT_FOUND"
        )
    output.print_json(value)


@command(config_app, "set")
def set_(
    ctx: typer.Context,
    instance_id: InstanceArg,
    pairs: Annotated[
        list[str], typer.Argument(help="KEY=VALUE ... (VALUE as JSON when it parses).")
    ],
) -> None:
    """Set config values (typed: 3 is a number, true a boolean, [1,2] a list)."""
    patch: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CliError(f"config must be KEY=VALUE, got {pair!r}", "INVALID_CONFIG")
        patch = merge_patch(patch, dotted_patch(key, _value(raw)))
    client_of(ctx).request("PATCH", f"/v1/instances/{instance_id}/config", json=patch)
    output.out.print(f"{instance_id}: set {', '.join(p.partition('=')[0] for p in pairs)}")


@command(config_app, "unset")
def unset(
    ctx: typer.Context,
    instance_id: InstanceArg,
    key: Annotated[str, typer.Argument(help="A dotted key.")],
) -> None:
    """Remove an override (the app's default, if any, shows through again)."""
    client_of(ctx).request(
        "PATCH", f"/v1/instances/{instance_id}/config", json=dotted_patch(key, None)
    )
    output.out.print(f"{instance_id}: unset {key}")
