"""The home's unix socket (``roost.sock``), by a path short enough for the kernel.

A unix socket's path may be at most 107 bytes, and a home can lie deeper than that. A
longer one is reached through the folder's descriptor instead
(``/proc/self/fd/<n>/roost.sock``), for binding and for connecting alike.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_PATH = 100  # the kernel's limit is 107 bytes, and a NUL


@contextmanager
def reachable(path: Path) -> Iterator[str]:
    """A path to ``path`` the kernel takes for a unix socket, while the block runs."""
    if len(os.fsencode(path)) <= MAX_PATH:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def listen(path: Path) -> socket.socket:
    """A listening unix socket at ``path``, mode 0600 (a stale one is replaced)."""
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)  # 0600 from the start: never a moment others could connect
    try:
        with reachable(path) as where:
            server.bind(where)
    finally:
        os.umask(previous)
    os.chmod(path, 0o600)
    server.listen(1024)
    return server


def connect(path: Path, timeout: float | None) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        with reachable(path) as where:
            client.connect(where)
    except BaseException:
        client.close()
        raise
    return client
