"""``roost status ID|all``: each instance's state and its services' processes."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import JsonFlag, TargetArg, command
from roost.cli.client import Client, client_of
from roost.cli.run import CONCURRENCY, AppOption, TagOption, select

STATUS_COLUMNS = (
    "INSTANCE", "STATE", "SERVICE", "STATUS", "PID", "PORT", "UPTIME", "RESTARTS", "CPU", "RSS"
)  # fmt: skip


@command(name="status")
def status(
    ctx: typer.Context,
    target: TargetArg,
    app: AppOption = None,
    tag: TagOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Each instance's state and its services' processes."""
    client = client_of(ctx)
    ids = select(client, target, app, tag)
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for instance, services in pool.map(lambda i: _status_of(client, i), ids):
            rows.append({**instance, "services": services})
    if as_json:
        output.print_json(rows)
        return
    table = Table(box=None, header_style="bold")
    for column in STATUS_COLUMNS:
        table.add_column(column)
    for row in rows:
        state = output.styled_state(row["state"])
        if not row["services"]:
            table.add_row(row["instance_id"], state, "-", *[""] * (len(STATUS_COLUMNS) - 3))
        for index, s in enumerate(row["services"]):
            table.add_row(
                row["instance_id"] if index == 0 else "",
                state if index == 0 else "",
                s["service"].split("@")[0],
                s["status"],
                str(s["pid"] or "-"),
                str(s["port"] or "-"),
                output.short_duration(s["uptime_s"]),
                str(s["restarts"]),
                "-" if s["cpu_percent"] is None else f"{s['cpu_percent']:.1f}%",
                output.short_size(s["rss_bytes"]),
            )
    output.out.print(table)
    failed = [row for row in rows if row["state"] == "error"]
    for row in failed:
        output.err.print(f"{row['instance_id']}: {row['error']}", markup=False)


def _status_of(client: Client, instance_id: str) -> tuple[dict[str, Any], list[Any]]:
    instance = client.json("GET", f"/v1/instances/{instance_id}")
    services = client.json("GET", f"/v1/instances/{instance_id}/services")["services"]
    return instance, services
