"""What the CLI prints: Rich tables for people, JSON for scripts, one line per error."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

UNBOUNDED = 100_000


def _width(stream: TextIO) -> int | None:
    """A terminal's own width; into a pipe or a file, none to speak of: a table there is
    never wrapped or cut in the middle of an id or a port (``--json`` is for scripts)."""
    try:
        return None if stream.isatty() else UNBOUNDED
    except (AttributeError, ValueError):  # closed, or not a real stream
        return None


out = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))

STATE_STYLES = {
    "active": "green",
    "inactive": "dim",
    "paused": "yellow",
    "error": "red",
    "pending": "cyan",
    "migrating": "cyan",
    "deleting": "magenta",
}


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data))


def print_rows(
    rows: list[dict[str, Any]],
    table: Callable[[list[dict[str, Any]]], Table],
    *,
    as_json: bool,
    none: str,
) -> None:
    """The rows as JSON, as a table, or (none at all) the line ``none``."""
    if as_json:
        print_json(rows)
    elif not rows:
        out.print(none)
    else:
        out.print(table(rows))


def dumps(data: Any) -> str:
    """One line of JSON (for results printed as they arrive)."""
    return json.dumps(data, separators=(",", ":"))


def print_error(message: str, code: str) -> None:
    err.print(f"error: {message} ({code})", markup=False)


def note(message: str) -> None:
    err.print(message, markup=False, style="dim")


HEALTH_STYLES = {"healthy": "green", "unhealthy": "yellow", "error": "red", "unknown": "dim"}


def short_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def short_size(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return str(int(value))


def styled_health(health: str) -> str:
    """A dot and the word: health is never told by colour alone."""
    style = HEALTH_STYLES.get(health, "")
    return f"[{style}]● {health}[/{style}]" if style else health


def styled_state(state: str) -> str:
    style = STATE_STYLES.get(state, "")
    return f"[{style}]{state}[/{style}]" if style else state


def instance_table(instances: Iterable[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "APP", "VERSION", "ORD", "STATE", "HEALTH", "PORTS", "TAGS"):
        table.add_column(column, overflow="fold")
    for item in instances:
        table.add_row(
            item["instance_id"],
            item["name"],
            item["app"],
            item["version"],
            str(item["ordinal"]),
            styled_state(item["state"]),
            item["health"],
            " ".join(f"{name}:{port}" for name, port in item.get("ports", {}).items()),
            ",".join(item["tags"]),
        )
    return table


def instance_detail(item: dict[str, Any]) -> Table:
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in item.items():
        if key == "state":
            shown = styled_state(value)
        elif isinstance(value, dict | list):
            shown = json.dumps(value) if value else "-"
        else:
            shown = "-" if value is None else str(value)
        table.add_row(key, shown)
    return table


def event_table(events: Iterable[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("AT", "ACTOR", "ACTION", "INSTANCE", "OUTCOME", "DETAILS"):
        table.add_column(column, overflow="fold")
    for item in events:
        table.add_row(
            item["at"],
            item["actor"],
            item["action"],
            item["instance_id"] or "-",
            item["outcome"],
            json.dumps(item["details"]) if item["details"] else "",
        )
    return table


def port_table(rows: Iterable[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("PORT", "NAME", "INSTANCE", "APP"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["port"]), row["name"], row["instance_id"], row.get("app", ""))
    return table
