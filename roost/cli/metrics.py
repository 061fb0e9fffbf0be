"""``roost metrics ID``, ``roost usage`` and ``roost top``: what instances use, from the
sampler's series, over a window, and live."""

from __future__ import annotations

import contextlib
import select
import sys
import termios
import time
import tty
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from roost.cli import output
from roost.cli.base import JsonFlag, command
from roost.cli.client import Client, client_of
from roost.domain.metrics import UNITS, sparkline

InstanceArg = Annotated[str, typer.Argument(help="The instance.", show_default=False)]
SinceOption = Annotated[str, typer.Option("--since", help="How far back: 15m, 1h, 7d.")]
TOP_KEYS = {"c": "cpu", "m": "memory", "r": "restarts", "u": "uptime", "i": "id"}


def _value(name: str, value: float | None) -> str:
    unit = UNITS.get(name, "")
    if value is None:
        return "-"
    if unit == "bytes":
        return output.short_size(value)
    if unit == "s":
        return output.short_duration(value)
    return f"{value:,.1f}{unit}" if value % 1 else f"{int(value):,}{unit}"


@command(name="metrics")
def metrics(
    ctx: typer.Context,
    instance_id: InstanceArg,
    name: Annotated[
        list[str] | None, typer.Option("--name", "-n", help="A metric (repeat; default: all).")
    ] = None,
    since: SinceOption = "1h",
    step: Annotated[
        str | None, typer.Option("--step", help="One point per step (1m, 5m, ...).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print an instance's latest metrics, each with a sparkline of the window."""
    params: dict[str, Any] = {"since": since, "name": name or []}
    if step:
        params["step"] = step
    found = client_of(ctx).json("GET", f"/v1/instances/{instance_id}/metrics", params=params)
    series: dict[str, list[list[float]]] = found["series"]
    if as_json:
        output.print_json(series)
        return
    if not any(series.values()):
        output.note(f"no samples of {instance_id} in the last {since} (it is sampled while active)")
        return
    table = Table(box=None, header_style="bold")
    for column in ("METRIC", "LATEST", "MIN", "MAX", f"LAST {since}"):
        table.add_column(column)
    for metric, points in series.items():
        values = [v for _, v in points]
        if not values:
            continue
        table.add_row(
            metric,
            _value(metric, values[-1]),
            _value(metric, min(values)),
            _value(metric, max(values)),
            sparkline(values),
        )
    output.out.print(table)


@command(name="usage")
def usage(ctx: typer.Context, since: SinceOption = "24h", as_json: JsonFlag = False) -> None:
    """Per instance over a window: uptime, restarts, failed health checks, cache
    operations, CPU and memory, quota consumption."""
    report = client_of(ctx).json("GET", "/v1/usage", params={"since": since})
    if as_json:
        output.print_json(report)
        return
    table = Table(box=None, header_style="bold")
    columns = ("INSTANCE", "APP", "UPTIME", "RESTARTS", "FAILED CHECKS", "CACHE OPS", "CPU AVG")
    for column in (*columns, "CPU MAX", "MEM AVG", "MEM MAX", "QUOTA"):
        table.add_column(column)
    for row in report["instances"]:
        quota = ", ".join(
            f"{feature} {q['consumed']}/{q['limit']}" for feature, q in row["quota"].items()
        )
        table.add_row(
            row["instance_id"],
            row["app"],
            f"{row['uptime_percent']:.1f}%",
            str(row["restarts"]),
            f"{row['failed_health_checks']}/{row['health_checks']}",
            f"{row['cache_ops']:,}",
            _value("cpu_percent", row["cpu_percent_avg"]),
            _value("cpu_percent", row["cpu_percent_max"]),
            _value("memory_bytes", row["memory_bytes_avg"]),
            _value("memory_bytes", row["memory_bytes_max"]),
            quota or "-",
        )
    if not report["instances"]:
        output.note("no instances")
        return
    output.out.print(table)


@command(name="top")
def top(
    ctx: typer.Context,
    sort: Annotated[
        str, typer.Option("--sort", help="cpu, memory, restarts, uptime or id.")
    ] = "cpu",
    interval: Annotated[
        float, typer.Option("--interval", min=0.5, help="Seconds between refreshes.")
    ] = 2.0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    once: Annotated[bool, typer.Option("--once", help="Print one table and exit.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """A live table of running instances by CPU and memory, with health and restarts.
    Keys: c cpu, m memory, r restarts, u uptime, i id; q quits."""
    client = client_of(ctx)
    if once or as_json:
        if not once:  # a first reading, so CPU covers a real interval
            _rows(client, sort, limit)
            time.sleep(interval)
        rows = _rows(client, sort, limit)
        if as_json:
            output.print_json(rows)
        else:
            output.out.print(_top_table(rows, sort))
        return
    with _keys() as read_key, Live(auto_refresh=False, console=output.out) as live:
        while True:
            live.update(_top_table(_rows(client, sort, limit), sort), refresh=True)
            key = read_key(interval)
            if key == "q":
                return
            sort = TOP_KEYS.get(key or "", sort)


def _rows(client: Client, sort: str, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.json(
        "GET", "/v1/top", params={"sort": sort, "limit": limit}
    )["instances"]
    return found


def _top_table(rows: list[dict[str, Any]], sort: str) -> Table:
    table = Table(
        box=None, header_style="bold", caption=f"sorted by {sort}; c m r u i to sort, q quits"
    )
    for column in ("INSTANCE", "APP", "HEALTH", "CPU", "MEMORY", "PROCS", "RESTARTS", "UPTIME"):
        table.add_column(column, justify="right" if column in ("CPU", "MEMORY") else "left")
    for row in rows:
        table.add_row(
            row["instance_id"],
            row["app"],
            output.styled_health(row["health"]),
            f"{row['cpu_percent']:.1f}%",
            output.short_size(row["memory_bytes"]),
            str(row["processes"]),
            str(row["restarts"]),
            output.short_duration(row["uptime_s"]),
        )
    if not rows:
        table.caption = "no running instances"
    return table


@contextlib.contextmanager
def _keys() -> Iterator[Any]:
    """A function that waits up to its argument for one key (None: none pressed); keys
    are read one at a time while it is open. Without a terminal it only waits."""
    if not sys.stdin.isatty():

        def wait(within: float) -> str | None:
            time.sleep(within)
            return None

        yield wait
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read(within: float) -> str | None:
        ready, _, _ = select.select([sys.stdin], [], [], within)
        return sys.stdin.read(1).lower() if ready else None

    try:
        yield read
    except KeyboardInterrupt:
        pass
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
