"""``roost recover``: rebuild lost registry entries from the ``instance.json`` each
instance directory keeps. An entry that still exists is left alone; one that cannot be
rebuilt (its app or version is gone, its ordinal or a port went to another instance) is
reported with the reason and not touched. Secrets and key pairs live only in the
registry, so a recovered instance has none."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor
from roost.domain.errors import RoostError
from roost.domain.ids import validate_instance_id
from roost.domain.layout import RECORD
from roost.domain.model import NewInstance
from roost.domain.states import State
from roost.instance_dir import instance_dirs
from roost.registry import instances as q
from roost.registry import ports as port_store
from roost.services import instance_files
from roost.services.app_specs import check_version
from roost.services.changes import Recorder, commit
from roost.services.context import Context


class Record(BaseModel):
    """``instance.json`` as :func:`roost.files.instance_record` writes it."""

    model_config = ConfigDict(extra="ignore")

    instance_id: str
    name: str
    app: str
    version: str
    ordinal: int = Field(ge=0)
    ports: dict[str, int] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = None
    created_at: datetime


@dataclass
class Recovery:
    recovered: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (instance id, reason)


async def recover(ctx: Context, actor: Actor) -> Recovery:
    await ctx.policy.authorize(actor, "registry.recover")
    outcome = Recovery()
    for folder in instance_dirs(ctx.home.path):
        try:
            record = Record.model_validate(json.loads(folder.record.read_text()))
            validate_instance_id(record.instance_id)
            if record.instance_id != folder.instance_id:
                raise ValueError(f"it names instance {record.instance_id!r}")
        except FileNotFoundError:
            continue  # not an instance directory roost wrote
        except (OSError, ValueError, ValidationError, RoostError) as exc:
            outcome.skipped.append((folder.instance_id, f"unreadable {RECORD}: {_first_line(exc)}"))
            continue
        if await ctx.registry.read(q.instance_exists, record.instance_id):
            outcome.present.append(record.instance_id)
            continue
        try:
            await _rebuild(ctx, actor, record)
        except (RoostError, IntegrityError) as exc:
            outcome.skipped.append((record.instance_id, _reason(exc)))
            continue
        outcome.recovered.append(record.instance_id)
    return outcome


async def _rebuild(ctx: Context, actor: Actor, saved: Record) -> None:
    app = await ctx.apps.get(saved.app)
    await check_version(ctx, app, saved.version)
    new = NewInstance(
        instance_id=saved.instance_id,
        app_pk=app.pk,
        version=saved.version,
        name=saved.name,
        ordinal=saved.ordinal,
        state=State.INACTIVE,
        config=saved.config,
        tags=tuple(sorted(set(saved.tags))),
        owner=saved.owner,
        created_at=saved.created_at,
        ports=saved.ports,
    )

    def insert(conn: Connection, record: Recorder) -> int:
        pk = q.insert_instance(conn, new)
        port_store.insert_ports(conn, ctx.ports.host, pk, new.ports)
        record(
            "instance.recover",
            new.instance_id,
            app=app.name,
            details={"version": new.version, "ordinal": new.ordinal, "ports": new.ports},
        )
        return pk

    await commit(ctx, actor, insert)
    ctx.ordinals.forget(app.pk)
    instance = await ctx.registry.read(q.get_instance, saved.instance_id)
    if instance is not None:
        await instance_files.refresh(ctx, instance)


def _reason(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return "its ordinal or one of its ports now belongs to another instance"
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    message = exc.message if isinstance(exc, RoostError) else str(exc)
    return message.splitlines()[0] if message else type(exc).__name__
