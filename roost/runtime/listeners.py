"""Which TCP ports listen on this host: one netlink ``sock_diag`` dump (the thin OS layer).

Waiting for many services to start means asking "does port P listen yet?" many times a
second. A connection attempt per question costs a socket, a handshake (or a reset) and
the service's own accept; one dump of every listening socket, which the kernel filters
by state, answers all the questions asked within a few milliseconds of each other for
about half the price of a single attempt. Where netlink is not available the callers
fall back to connecting.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
# inet_diag_req_v2: family, protocol, extensions, pad, states; then a zeroed socket id
REQUEST = struct.Struct("=BBBBI48x")
SPORT_AT = HEADER.size + 4  # inet_diag_msg: family, state, timer, retrans, then the port
INODE_AT = HEADER.size + 68  # ... the socket id (48 bytes), expires, queues, uid, inode
FRESH_FOR = 0.005  # a dump this recent answers every check


Sockets = dict[int, frozenset[int]]  # port: the inodes of the sockets listening on it


def listening_sockets() -> Sockets:
    """Every local TCP port (IPv4 and IPv6) a socket listens on in this network
    namespace, with the inodes of those sockets (what a process's open files show as
    ``socket:[inode]``). OSError when the kernel does not answer netlink diagnostics."""
    ports: dict[int, set[int]] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as link:
        for sequence, family in enumerate((socket.AF_INET, socket.AF_INET6), start=1):
            request = REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
            flags = NLM_F_REQUEST | NLM_F_DUMP
            link.send(
                HEADER.pack(HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, flags, sequence, 0)
                + request
            )
            _read_dump(link, ports)
    return {port: frozenset(inodes) for port, inodes in ports.items()}


def _read_dump(link: socket.socket, ports: dict[int, set[int]]) -> None:
    while True:
        data = link.recv(1 << 16)
        offset = 0
        while offset < len(data):
            length, kind, _flags, _sequence, _port_id = HEADER.unpack_from(data, offset)
            if kind == NLMSG_DONE:
                return
            if kind == NLMSG_ERROR or length < HEADER.size:
                raise OSError("netlink sock_diag refused the request")
            port = int.from_bytes(data[offset + SPORT_AT : offset + SPORT_AT + 2], "big")
            inode = int.from_bytes(data[offset + INODE_AT : offset + INODE_AT + 4], sys.byteorder)
            ports.setdefault(port, set()).add(inode)
            offset += (length + 3) & ~3  # messages are 4-byte aligned


class RecentListeners:
    """``listening_sockets()``, dumped again only when the last dump is older than a few
    milliseconds, so that any number of waiting starts share one dump."""

    def __init__(self, fresh_for: float = FRESH_FOR) -> None:
        self._fresh_for = fresh_for
        self._taken: float | None = None  # when the last dump was taken
        self._sockets: Sockets = {}
        self.available = True

    def sockets(self) -> Sockets | None:
        """The listening ports with their sockets, or None where netlink cannot tell."""
        if not self.available:
            return None
        now = time.monotonic()
        if self._taken is None or now - self._taken > self._fresh_for:
            try:
                self._sockets = listening_sockets()
            except OSError:
                self.available = False
                return None
            self._taken = now
        return self._sockets
