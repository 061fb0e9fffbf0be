"""``roost cache check``: read a stopped home's cache log and say what is in it and what
is damaged, without changing it (the next server start recovers what can be)."""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

from roost.cache.log_file import LOG_NAME
from roost.cache.log_format import Damage, Torn, earlier_format, legacy, scan


@dataclass
class LogCheck:
    path: Path
    size: int = 0
    records: int = 0
    namespaces: set[str] = field(default_factory=set)
    damage: list[Damage] = field(default_factory=list)
    torn_at: int | None = None
    earlier_format: bool = False

    @property
    def damaged(self) -> bool:
        return bool(self.damage)

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "bytes": self.size,
            "records": self.records,
            "namespaces": len(self.namespaces),
            "earlier_format": self.earlier_format,
            "incomplete_tail_at": self.torn_at,
            "damaged": [
                {
                    "start": damage.start,
                    "end": damage.end,
                    "bytes": damage.bytes,
                    "records": damage.records,
                    "keys": [{"instance_id": ns, "key": key} for ns, key in damage.keys],
                    "unknown_records": damage.unknown,
                }
                for damage in self.damage
            ],
        }


def check_log(folder: Path) -> LogCheck:
    """What the log in ``folder`` (a home's ``cache/``) holds, read-only."""
    path = folder / LOG_NAME
    report = LogCheck(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return report
    try:
        report.size = os.fstat(fd).st_size
        if report.size == 0:
            return report
        with mmap.mmap(fd, report.size, access=mmap.ACCESS_READ) as data:
            if earlier_format(data):
                report.earlier_format = True
                records, end = legacy(data)
                report.records = len(records)
                if end < report.size:
                    report.damage.append(Damage(end, report.size))
                return report
            for item in scan(data):
                if type(item) is tuple:
                    report.records += 1
                    report.namespaces.add(item[1])
                elif isinstance(item, Damage):
                    report.damage.append(item)
                elif isinstance(item, Torn):
                    report.torn_at = item.start
    finally:
        os.close(fd)
    return report
