"""Instances as records: read one, list them a page at a time, change name, tags, config.

Creating is in ``create.py``, the lifecycle in ``lifecycle.py``, deleting in
``removal.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.access import visible_to
from roost.domain.backup_schedule import schedule_of
from roost.domain.clock import utcnow
from roost.domain.cursors import decode_cursor, encode_cursor, invalid_cursor
from roost.domain.errors import InvalidInput, instance_not_found
from roost.domain.ids import validate_instance_id
from roost.domain.model import Instance, InstanceFilter
from roost.domain.values import check_config_size, check_json_value, merge_patch
from roost.registry import instances as q
from roost.services import instance_files
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.transitions import locked

MAX_PAGE = 1000
_CURSOR_KIND = "i"  # a page of instances continues after this primary key


@dataclass(frozen=True)
class Page:
    instances: list[Instance]
    next_cursor: str | None


async def get_instance(ctx: Context, actor: Actor, instance_id: str) -> Instance:
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, "instance.read", instance_id)
    instance = await ctx.registry.read(q.get_instance, instance_id)
    if instance is None:
        raise instance_not_found(instance_id)
    return instance


def _after_pk(cursor: str) -> int:
    kind, _, value = decode_cursor(cursor).partition(":")
    if kind != _CURSOR_KIND or not value.isdigit():
        raise invalid_cursor(cursor)
    return int(value)


async def list_instances(
    ctx: Context, actor: Actor, where: InstanceFilter, *, limit: int, cursor: str | None
) -> Page:
    await ctx.policy.authorize(actor, "instance.list")
    where = visible_to(actor, where)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", code="INVALID_LIMIT")
    after = _after_pk(cursor) if cursor else 0
    rows = await ctx.registry.read(q.list_instances, where, after_pk=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(f"{_CURSOR_KIND}:{rows[-1].pk}") if more else None)


@dataclass(frozen=True)
class Patch:
    name: str | None = None
    tags: tuple[str, ...] | None = None
    config: dict[str, Any] | None = None
    replace_config: bool = False  # config replaces the overrides instead of merge-patching


async def update_instance(ctx: Context, actor: Actor, instance_id: str, patch: Patch) -> Instance:
    """Rename, retag, or merge-patch the config (RFC 7396: ``null`` removes a key)."""
    validate_instance_id(instance_id)
    await ctx.policy.authorize(actor, "instance.update", instance_id)
    if patch.config is not None:
        check_json_value(patch.config, field="config")

    def apply(conn: Connection, record: Recorder) -> Instance:
        instance = locked(conn, instance_id)
        values: dict[str, Any] = {}
        changed: list[str] = []
        if patch.name is not None and patch.name != instance.name:
            values["name"] = patch.name
            changed.append("name")
        if patch.config is not None:
            config = (
                patch.config if patch.replace_config else merge_patch(instance.config, patch.config)
            )
            if config != instance.config:
                check_config_size(config)
                schedule_of({}, config)  # its own backup schedule, if it sets one
                values["config"] = config
                changed.append("config")
        tags = instance.tags
        if patch.tags is not None and tuple(sorted(set(patch.tags))) != instance.tags:
            tags = tuple(sorted(set(patch.tags)))
            q.replace_tags(conn, instance.pk, tags)
            changed.append("tags")
        if not changed:
            return instance
        now = utcnow()
        q.update_instance(conn, instance.pk, at=now, **values)
        record("instance.update", instance, details={"changed": changed})
        return replace(instance, tags=tags, updated_at=now, **values)

    updated = await commit(ctx, actor, apply)
    await instance_files.refresh(ctx, updated)
    return updated
