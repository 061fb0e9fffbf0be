"""The host side of ports: is a port in use here, and by whom (the thin OS layer)."""

from __future__ import annotations

import contextlib
import socket

import psutil

PROBE_ADDRESSES = ("0.0.0.0", "127.0.0.1")


def in_use(port: int) -> bool:
    """True when some process holds ``port`` (on any address or on loopback)."""
    for address in PROBE_ADDRESSES:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT
            try:
                probe.bind((address, port))
            except OSError:
                return True
    return False


def holder(port: int) -> str | None:
    """``"name (pid N)"`` of the process listening on ``port``, when the host tells."""
    with contextlib.suppress(psutil.Error, OSError):
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == port and connection.status == "LISTEN":
                if connection.pid is None:
                    return None
                with contextlib.suppress(psutil.Error):
                    return f"{psutil.Process(connection.pid).name()} (pid {connection.pid})"
                return f"pid {connection.pid}"
    return None
