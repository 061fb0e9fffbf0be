"""Serve only requests addressed to this server by a name it answers to.

A page on another site can make a browser resolve its own host name to 127.0.0.1 (DNS
rebinding) and then talk to roost as if it were that site; its requests still carry
that site's name in ``Host``. Without credentials to check (auth off), only
``localhost``, loopback addresses, the address roost is bound to and
``ROOST_ALLOWED_HOSTS`` are served: anything else is 421 ``MISDIRECTED_REQUEST``.
"""

from __future__ import annotations

from collections.abc import Iterable

from roost.domain.network import is_loopback

MAX_REMEMBERED = 256  # Host values whose answer is kept (a client sends the same few)


def host_name(value: str) -> str:
    """``Host`` without its port, lowercased (``[::1]:8080`` is ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() else value


class AllowedHosts:
    """Whether a ``Host`` header names this server; the answer for each value is kept."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(name.lower() for name in allowed)
        self._answers: dict[bytes | None, bool] = {}

    def __call__(self, value: bytes | None) -> bool:
        answer = self._answers.get(value)
        if answer is None:
            name = host_name(value.decode("latin-1")) if value is not None else ""
            answer = is_loopback(name) or name in self.allowed
            if len(self._answers) < MAX_REMEMBERED:
                self._answers[value] = answer
        return answer
