"""``roost health [ID|all]``: check instances now and print each one's health, service by
service; exit 1 when any is not healthy."""

from typing import Annotated, Any

import typer
from rich.table import Table

from roost.cli import output
from roost.cli.base import JsonFlag, command
from roost.cli.client import CliError, client_of
from roost.cli.run import AppOption, TagOption, select

HealthTarget = Annotated[str, typer.Argument(help="An instance id, or all (the default).")]


@command(name="health")
def health(
    ctx: typer.Context,
    target: HealthTarget = "all",
    app: AppOption = None,
    tag: TagOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check instances' health now: every service's probe, its latency and its error."""
    client = client_of(ctx)
    if target == "all" or app or tag:
        ids = select(client, target, app, tag)
        if not ids:
            output.note("no instances to check")
            return
        body = {"instance_ids": ids}
        results: dict[str, Any] = client.json("POST", "/v1/health-checks", json=body)["results"]
    else:
        results = {target: client.json("POST", f"/v1/instances/{target}/health-check")}
    if as_json:
        output.print_json(results)
    else:
        output.out.print(_table(results))
    sick = [i for i, r in results.items() if r["health"] != "healthy"]
    if sick:
        raise CliError(f"{len(sick)} of {len(results)} not healthy: {', '.join(sick)}", "UNHEALTHY")


def _table(results: dict[str, Any]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("INSTANCE", "HEALTH", "SERVICE", "SERVICE HEALTH", "LATENCY", "ERROR"):
        table.add_column(column)
    for instance_id, result in results.items():
        services = result["services"] or {"-": None}
        for index, (name, service) in enumerate(services.items()):
            first = index == 0
            latency = service and service["latency_ms"]
            table.add_row(
                instance_id if first else "",
                output.styled_health(result["health"]) if first else "",
                name,
                output.styled_health(service["health"]) if service else "",
                "-" if latency is None or latency == 0 else f"{latency:.1f} ms",
                (service and service["error"]) or (result.get("error") if first else "") or "",
            )
    return table
