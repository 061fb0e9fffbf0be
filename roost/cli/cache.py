"""``roost cache get|put|del|ls --instance ID``: the data plane from the shell."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

import typer

from roost.cli import output
from roost.cli.base import JsonFlag, command, group
from roost.cli.client import CliError, client_of

if TYPE_CHECKING:
    from roost.cache.check import LogCheck

cache_app = group("Read and write an instance's cache namespace.")

Instance = Annotated[str, typer.Option("--instance", "-i", help="Instance id (required).")]
Key = Annotated[
    str, typer.Argument(help="Cache key (any UTF-8, up to 1,024 bytes).", show_default=False)
]


def key_path(key: str) -> str:
    # '/' and '.' escaped too, so no client or proxy rewrites the key as a path
    return "/v1/cache/" + quote(key, safe="").replace(".", "%2E")


@command(cache_app, "get")
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


@command(cache_app, "put")
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


@command(cache_app, "del")
def del_(ctx: typer.Context, key: Key, instance: Instance) -> None:
    """Delete a key."""
    client_of(ctx).request("DELETE", key_path(key), headers={"X-Instance-ID": instance})
    output.out.print(f"deleted {key}")


@command(cache_app, "ls")
def ls(
    ctx: typer.Context,
    instance: Instance,
    prefix: Annotated[str, typer.Option(help="Only keys starting with this.")] = "",
    as_json: JsonFlag = False,
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


@command(cache_app, "check")
def check(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Read a stopped home's cache log and report damage (exit 1 if there is any)."""
    from roost.cache.check import check_log
    from roost.home import Home

    home = Home(client_of(ctx).settings.home)
    pid = home.server_pid()
    if pid is not None:
        raise CliError(
            f"the server of {home.path} is running (pid {pid}): stop it first (roost shutdown)",
            "SERVER_RUNNING",
        )
    report = check_log(home.path / "cache")
    if as_json:
        output.print_json(report.as_json())
    else:
        _print_check(report)
    if report.damaged:
        raise typer.Exit(1)


def _print_check(report: "LogCheck") -> None:
    if report.size == 0:
        output.out.print(f"{report.path}: empty or absent, nothing to check", markup=False)
        return
    kind = " (earlier format: rewritten at the next start)" if report.earlier_format else ""
    output.out.print(
        f"{report.path}: {report.size} bytes, {report.records} good records, "
        f"{len(report.namespaces)} instances{kind}",
        markup=False,
    )
    if report.torn_at is not None:
        output.out.print(
            f"an incomplete record at the end, from byte {report.torn_at}: a write a crash cut"
            " short, cut off at the next start",
            markup=False,
        )
    for damage in report.damage:
        keys = ", ".join(f"{key!r} of {ns}" for ns, key in damage.keys) or "none known"
        unknown = f"; {damage.unknown} whose keys cannot be told" if damage.unknown else ""
        output.out.print(
            f"damaged: bytes {damage.start}-{damage.end} ({damage.bytes} bytes, "
            f"{damage.records} records); keys lost: {keys}{unknown}",
            markup=False,
        )
    if not report.damage:
        output.out.print("no damage", markup=False)


__all__ = ["CliError", "cache_app"]
