"""``roost cache get|put|del|ls --instance ID``: the data plane from the shell."""

import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from roost.cli import output
from roost.cli.client import CliError, client_of

cache_app = typer.Typer(help="Read and write an instance's cache namespace.", no_args_is_help=True)

Instance = Annotated[str, typer.Option("--instance", "-i", help="Instance id (required).")]
Key = Annotated[
    str, typer.Argument(help="Cache key (any UTF-8, up to 1,024 bytes).", show_default=False)
]


def key_path(key: str) -> str:
    # '/' and '.' escaped too, so no client or proxy rewrites the key as a path
    return "/v1/cache/" + quote(key, safe="").replace(".", "%2E")


def register(command: Any) -> None:
    """Decorate with the CLI's one-line error handling (shared with the main commands)."""
    from roost.cli.main import command as main_command

    return main_command(target=cache_app, name=command.__name__.rstrip("_"))(command)  # type: ignore[no-any-return]


def get(
    ctx: typer.Context,
    key: Key,
    instance: Instance,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the value to a file.")
    ] = None,
) -> None:
    """Print a value (its raw bytes) or write it to a file."""
    value = (
        client_of(ctx).request("GET", key_path(key), headers={"X-Instance-ID": instance}).content
    )
    if out is not None:
        out.write_bytes(value)
    else:
        sys.stdout.buffer.write(value)
        sys.stdout.buffer.flush()


def put(
    ctx: typer.Context,
    key: Key,
    instance: Instance,
    value: Annotated[str | None, typer.Argument(help="The value (default: read stdin).")] = None,
    ttl: Annotated[
        float | None, typer.Option("--ttl", help="Expire after this many seconds.")
    ] = None,
) -> None:
    """Write a value, from the argument or from stdin."""
    body = value.encode() if value is not None else sys.stdin.buffer.read()
    headers = {"X-Instance-ID": instance}
    if ttl is not None:
        headers["X-TTL-Seconds"] = repr(ttl)
    client_of(ctx).request("PUT", key_path(key), headers=headers, content=body)
    output.out.print(f"{key}: {len(body)} bytes")


def del_(ctx: typer.Context, key: Key, instance: Instance) -> None:
    """Delete a key."""
    client_of(ctx).request("DELETE", key_path(key), headers={"X-Instance-ID": instance})
    output.out.print(f"deleted {key}")


def ls(
    ctx: typer.Context,
    instance: Instance,
    prefix: Annotated[str, typer.Option(help="Only keys starting with this.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List an instance's keys, in byte order."""
    params = [("prefix", prefix), ("limit", "1000")]
    keys = client_of(ctx).collect("/v1/cache", "keys", params, {"X-Instance-ID": instance})
    if as_json:
        output.print_json(keys)
    elif not keys:
        output.note("no keys")
    else:
        for key in keys:
            output.out.print(key, markup=False, highlight=False)


for _command in (get, put, del_, ls):
    register(_command)

__all__ = ["CliError", "cache_app"]
