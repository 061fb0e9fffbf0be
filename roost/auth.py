"""The one seam for access control: who is calling, and may they do this?

Every use case asks :func:`authorize` before acting. Until users and tokens exist the
only caller is the local actor, who may do everything; filling this in later changes
no route.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.domain.errors import Forbidden

LOCAL = "local"


@dataclass(frozen=True)
class Actor:
    name: str


LOCAL_ACTOR = Actor(LOCAL)


async def authorize(actor: Actor, action: str, target: str | None = None) -> None:
    """Raise ``Forbidden`` when ``actor`` may not do ``action`` on ``target``."""
    if actor != LOCAL_ACTOR:
        raise Forbidden(
            f"{actor.name!r} may not {action}" + (f" on {target!r}" if target else ""),
            code="FORBIDDEN",
        )
