"""The one seam for access control: who is calling, and may they do this?

Two small protocols, both chosen in the composition root:

- an :class:`Authenticator` turns a request (its ASGI scope: headers, client, the
  transport it came over) into an :class:`Actor`, on every surface: the REST API, the
  data plane and the seed-000 facade alike (``api/middleware/authentication.py`` asks
  it once per request);
- a :class:`Policy` answers ``authorize(actor, action, target)``. Use cases ask it
  before they act (``roost.services``); routes never do.

The rules themselves (roles, what each action needs) are pure: ``domain/access.py``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Protocol

from roost.domain.access import Actor

__all__ = ["LOCAL_ACTOR", "SUPERVISOR", "Actor", "Authenticator", "Policy", "Scope"]

Scope = MutableMapping[str, Any]  # an ASGI connection scope
ACTOR_KEY = "roost.actor"  # where the request's actor is kept in its scope
PEER_UID_KEY = "roost.peer_uid"  # set on requests over the home's unix socket

LOCAL_ACTOR = Actor("local", admin=True)  # the home's owner: the socket, or auth off
SUPERVISOR = Actor("supervisor", admin=True)  # what the server does by itself


class Authenticator(Protocol):
    async def authenticate(self, scope: Scope) -> Actor:
        """The caller of this request (raises 401 ``UNAUTHORIZED``, or 429 when a client
        has failed too often)."""
        ...

    async def sign_in(self, token: str, address: str) -> tuple[Actor, str]:
        """The dashboard's sign-in: who ``token`` is, and the session cookie's value
        that stands for it (raises like ``authenticate``)."""
        ...

    def forget_tokens(self) -> None:
        """A token was revoked or a user removed: check every token again."""
        ...


class Policy(Protocol):
    async def authorize(self, actor: Actor, action: str, target: str | None = None) -> None:
        """Raise ``Forbidden`` when ``actor`` may not do ``action`` on ``target`` (an
        instance id for an action on an instance, an app name for a create)."""
        ...

    async def allows(self, actor: Actor, action: str, target: str | None = None) -> bool:
        """Whether ``authorize`` would let it through, asked without a trace (the
        dashboard shows only the buttons its user may use)."""
        ...

    def forget(self, instance_id: str) -> None:
        """Who may act on the instance changed, or it is gone."""
        ...


class LocalAuthenticator:
    """Every caller is the local actor (no tokens to check)."""

    async def authenticate(self, scope: Scope) -> Actor:
        del scope
        return LOCAL_ACTOR

    async def sign_in(self, token: str, address: str) -> tuple[Actor, str]:
        del token, address
        return LOCAL_ACTOR, ""  # nothing to sign in to

    def forget_tokens(self) -> None:
        pass


def actor_of(scope: Scope) -> Actor:
    """The actor the authentication middleware found for this request."""
    actor: Actor = scope[ACTOR_KEY]
    return actor
