"""Who may do what (pure): roles, the role each action needs, and a caller's role on an
instance.

Roles, from least to most: ``viewer`` (read; never secret values), ``operator`` (run
it: start, stop, config, logs), ``owner`` (everything on it: delete, secrets,
sharing), ``admin`` (everything, including apps, whose specs run commands on the host).
``cache`` is the role of an instance's own data-plane token: its namespace, nothing else.

A caller's role on an instance is the smaller of its token's role and its user's role
there (the owner, or what a grant gives), and none outside the token's scope (the
instances and apps it names, when it names any).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum

from roost.domain.errors import Forbidden
from roost.domain.model import InstanceFilter


class Role(IntEnum):
    CACHE = 0
    VIEWER = 1
    OPERATOR = 2
    OWNER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}") from None


GRANTABLE = (Role.VIEWER, Role.OPERATOR, Role.OWNER)  # what an owner may share

# The role each action needs on its instance.
ON_INSTANCE: dict[str, Role] = {
    "instance.read": Role.VIEWER,
    "keys.read": Role.VIEWER,
    "usage.read": Role.VIEWER,
    "metrics.read": Role.VIEWER,
    "backup.read": Role.VIEWER,
    "backup.create": Role.OPERATOR,
    "backup.verify": Role.OPERATOR,
    "instance.restore": Role.OPERATOR,
    "backup.download": Role.OWNER,
    "backup.upload": Role.OWNER,
    "backup.delete": Role.OWNER,
    "events.read": Role.VIEWER,
    "cache.read": Role.VIEWER,
    "instance.start": Role.OPERATOR,
    "instance.stop": Role.OPERATOR,
    "instance.restart": Role.OPERATOR,
    "instance.pause": Role.OPERATOR,
    "instance.resume": Role.OPERATOR,
    "service.start": Role.OPERATOR,
    "service.stop": Role.OPERATOR,
    "service.restart": Role.OPERATOR,
    "instance.update": Role.OPERATOR,
    "health.check": Role.OPERATOR,
    "logs.read": Role.OPERATOR,
    "usage.consume": Role.OPERATOR,
    "secret.list": Role.OPERATOR,
    "cache.write": Role.OPERATOR,
    "instance.delete": Role.OWNER,
    "instance.clean": Role.OWNER,
    "instance.clone": Role.OWNER,
    "instance.upgrade": Role.OWNER,
    "instance.export": Role.OWNER,
    "instance.move": Role.OWNER,
    "secret.read": Role.OWNER,
    "secret.set": Role.OWNER,
    "secret.delete": Role.OWNER,
    "keys.create": Role.OWNER,
    "usage.reset": Role.OWNER,
    "grant.change": Role.OWNER,
}
CACHE_ACTIONS = frozenset({"cache.read", "cache.write"})  # all a cache token may do
# Actions on no one instance: any caller but a cache token may ask (what a list shows
# is filtered by what the caller may see).
ON_NOTHING = frozenset(
    {
        "instance.list",
        "metrics.list",  # /metrics, usage, top: of the instances the caller may see
        "events.read",
        "ports.list",
        "app.list",
        "app.read",
        "token.own",
    }
)
ADMIN_ONLY = frozenset(
    {
        "app.register",
        "registry.recover",
        "secret.rotate-key",
        "user.manage",
        "token.any",
        "webhook.manage",
        "backup.orphans",
    }
)


@dataclass(frozen=True)
class Actor:
    """A caller: an admin, or a user through a token (or an instance through its own)."""

    name: str  # as events record it
    admin: bool = False
    user: str | None = None
    role: Role = Role.VIEWER  # the token's role: the most it may do anywhere
    token: str | None = None  # the token's id
    instances: frozenset[str] | None = None  # the token's scope; None: not scoped by them
    apps: frozenset[str] | None = None

    @property
    def scoped(self) -> bool:
        return self.instances is not None or self.apps is not None

    def in_scope(self, instance_id: str | None, app: str | None) -> bool:
        if not self.scoped:
            return True
        return (instance_id is not None and instance_id in (self.instances or ())) or (
            app is not None and app in (self.apps or ())
        )


@dataclass(frozen=True)
class InstanceAccess:
    """What decides who may act on one instance."""

    instance_id: str
    app: str
    owner: str | None
    grants: Mapping[str, Role] = field(default_factory=dict)  # user name -> role


def role_on(actor: Actor, access: InstanceAccess) -> Role | None:
    """The actor's role on the instance; None: it may not even see it."""
    if actor.admin:
        return Role.ADMIN
    if not actor.in_scope(access.instance_id, access.app):
        return None
    if actor.role is Role.CACHE:
        return Role.CACHE
    if actor.user is None:
        return None
    mine = Role.OWNER if access.owner == actor.user else access.grants.get(actor.user)
    return None if mine is None else min(mine, actor.role)


class AccessDenied(Forbidden):
    code = "ACCESS_DENIED"


def refused(actor: Actor, action: str, target: str | None) -> AccessDenied:
    on = f" on {target!r}" if target else ""
    return AccessDenied(f"{actor.name!r} may not {action}{on}", action=action)


def check(actor: Actor, action: str, access: InstanceAccess) -> None:
    """Raise ACCESS_DENIED unless the actor may do ``action`` on the instance."""
    role = role_on(actor, access)
    needed = ON_INSTANCE.get(action, Role.ADMIN)
    allowed = role is not None and (
        role >= needed if role is not Role.CACHE else action in CACHE_ACTIONS
    )
    if not allowed:
        raise refused(actor, action, access.instance_id)


def check_general(actor: Actor, action: str, app: str | None = None) -> None:
    """An action on no instance: a list, an app, the registry, users and tokens."""
    if actor.admin:
        return
    if actor.role is Role.CACHE:
        raise refused(actor, action, app)
    if action in ON_NOTHING:
        return
    # the creator owns what it creates: a token that may own, and whose scope has the app
    may_own = actor.role >= Role.OWNER and actor.user is not None and actor.in_scope(None, app)
    if action == "instance.create" and may_own:
        return
    raise refused(actor, action, app)


def visible_to(actor: Actor, where: InstanceFilter) -> InstanceFilter:
    """``where``, narrowed to the instances ``actor`` may see."""
    if actor.admin:
        return where
    if actor.role is Role.CACHE or actor.user is None:  # sees no instance through a list
        return replace(where, within_instances=frozenset(), within_apps=frozenset())
    if actor.scoped:
        return replace(
            where,
            visible_to=actor.user,
            within_instances=actor.instances or frozenset(),
            within_apps=actor.apps or frozenset(),
        )
    return replace(where, visible_to=actor.user)
