"""The one seam for access control: who is calling, and may they do this?

Two small protocols, both chosen in the composition root:

- an :class:`Authenticator` turns a request (its ASGI scope: headers, client, the
  transport it came over) into an :class:`Actor`, on every surface: the REST API, the
  data plane and the seed-000 facade alike;
- a :class:`Policy` answers ``authorize(actor, action, target)``. Use cases ask it
  before they act (``roost.services``); routes never do.

Until users and tokens exist, every caller is the local actor, who may do everything.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from roost.domain.errors import Forbidden

Scope = MutableMapping[str, Any]  # an ASGI connection scope
LOCAL = "local"


@dataclass(frozen=True)
class Actor:
    name: str


LOCAL_ACTOR = Actor(LOCAL)
SUPERVISOR = Actor("supervisor")  # what the server does by itself (a crash, a restart)


class Authenticator(Protocol):
    async def authenticate(self, scope: Scope) -> Actor:
        """The caller of this request (raises ``RoostError`` when it cannot be told)."""
        ...


class Policy(Protocol):
    async def authorize(self, actor: Actor, action: str, target: str | None = None) -> None:
        """Raise ``Forbidden`` when ``actor`` may not do ``action`` on ``target``."""
        ...


class LocalAuthenticator:
    """Every caller is the local actor (no users and tokens yet)."""

    async def authenticate(self, scope: Scope) -> Actor:
        del scope
        return LOCAL_ACTOR


class LocalPolicy:
    """The local actor may do everything; anyone else nothing."""

    async def authorize(self, actor: Actor, action: str, target: str | None = None) -> None:
        if actor != LOCAL_ACTOR:
            raise Forbidden(
                f"{actor.name!r} may not {action}" + (f" on {target!r}" if target else ""),
                code="FORBIDDEN",
            )
