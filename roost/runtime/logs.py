"""Service logs on disk: the last lines, following new ones across rotation, and
rotation itself (by size, copy-truncate, since the service holds its file open)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from roost.domain.errors import no_room, out_of_space

BLOCK = 64 * 1024
FOLLOW_EVERY = 0.25


def last_lines(path: Path, count: int) -> tuple[list[str], int]:
    """The last ``count`` complete lines of ``path`` and the offset just after them."""
    try:
        with open(path, "rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            data = b""
            position = end
            while position > 0 and data.count(b"\n") <= count:
                step = min(BLOCK, position)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
    except FileNotFoundError:
        return [], 0
    complete, _, partial = data.rpartition(b"\n")
    lines = (
        complete.decode(errors="replace").split("\n") if complete or data.startswith(b"\n") else []
    )
    offset = end - len(partial)
    return (lines[-count:] if count else []), offset


async def follow(
    files: Mapping[str, Path], offsets: Mapping[str, int], every: float = FOLLOW_EVERY
) -> AsyncIterator[tuple[str, str]]:
    """(label, line) for each complete line written after ``offsets``, forever. A file
    that shrinks was rotated (copy-truncate): reading starts again at its beginning."""
    positions = dict(offsets)
    pending = {label: b"" for label in files}
    while True:
        for label, path in files.items():
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size < positions.get(label, 0):
                positions[label], pending[label] = 0, b""
            if size == positions.get(label, 0):
                continue
            chunk = await asyncio.to_thread(_read, path, positions.get(label, 0), size)
            positions[label] = positions.get(label, 0) + len(chunk)
            complete, _, rest = (pending[label] + chunk).rpartition(b"\n")
            pending[label] = rest
            if complete or chunk.startswith(b"\n"):
                for line in complete.decode(errors="replace").split("\n"):
                    yield label, line
        await asyncio.sleep(every)


def _read(path: Path, start: int, end: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def rotate(path: Path, *, max_bytes: int, keep: int) -> bool:
    """When ``path`` is over ``max_bytes``: ``log.1`` .. ``log.<keep>`` shift by one, the
    log is copied to ``log.1`` and truncated in place. True when it rotated. A copy the
    disk has no room for is removed and the log kept whole (507; tried again later)."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    with contextlib.suppress(FileNotFoundError):
        Path(f"{path}.{keep}").unlink()
    for number in range(keep - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}.{number}", f"{path}.{number + 1}")
    if keep > 0:
        try:
            shutil.copyfile(path, f"{path}.1")
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}.1")
            if out_of_space(exc):
                raise no_room(f"the rotated copy of {path}", exc) from None
            raise
    with open(path, "r+b") as handle:
        handle.truncate(0)
    return True
