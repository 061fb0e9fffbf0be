"""Exports: an instance's services as files another engine runs (systemd, compose).

An exporter is a small pure renderer: it gets the instances to export (with everything
roost knows about them) and returns the files to write; it never touches the disk.
Exporters are found through one registry, the ``roost.exporters`` entry-point group, so
a package can add its own without changing roost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from roost.domain.errors import InvalidInput, NotFound
from roost.domain.model import Instance
from roost.domain.spec import AppSpec

ENTRY_POINT_GROUP = "roost.exporters"


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative to the export's output folder
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class ExportTarget:
    """One instance to export, and what its processes would get."""

    instance: Instance
    spec: AppSpec
    config: Mapping[str, Any]  # effective: app defaults under the instance's overrides
    directory: Path  # the instance directory on this host
    cache_url: str
    secrets: Mapping[str, str] | None = None  # only when the user asked for them


class Exporter(Protocol):
    name: str
    description: str

    def render(self, targets: Sequence[ExportTarget], out: Path) -> list[ExportFile]:
        """The files of an export; ``out`` is the absolute folder they will be written to."""
        ...


class ExportConflict(InvalidInput):
    code = "EXPORT_CONFLICT"


class ExportUnsupported(InvalidInput):
    code = "EXPORT_UNSUPPORTED"


@cache
def exporters() -> dict[str, Exporter]:
    """Every installed exporter, by name."""
    found: dict[str, Exporter] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        exporter = point.load()()
        found[exporter.name] = exporter
    return found


def exporter(name: str) -> Exporter:
    try:
        return exporters()[name]
    except KeyError:
        known = ", ".join(sorted(exporters()))
        raise NotFound(
            f"no exporter named {name!r} (installed: {known})", code="EXPORTER_NOT_FOUND"
        ) from None


def same_file(files: dict[str, ExportFile], file: ExportFile, *, made_by: str) -> None:
    """Add a file shared by many instances (a template unit, an app's compose file);
    instances that need different contents for it cannot be exported together."""
    existing = files.get(file.path)
    if existing is None:
        files[file.path] = file
    elif existing.content != file.content:
        raise ExportConflict(
            f"{file.path} differs between instances (instance {made_by!r} is on another "
            "app version): export each version's instances separately",
            code="EXPORT_CONFLICT",
            path=file.path,
        )
