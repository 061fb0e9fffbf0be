"""``roost recover``: rebuild lost registry entries from the ``instance.json`` each
instance directory keeps. An entry that still exists is left alone; one that cannot be
rebuilt (its app or version is gone, its ordinal or a port went to another instance) is
reported with the reason and not touched. Secrets and key pairs live only in the
registry, so a recovered instance has none."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor, authorize
from roost.domain.errors import RoostError
from roost.domain.ids import validate_instance_id
from roost.domain.model import NewInstance
from roost.domain.states import State
from roost.files import RECORD
from roost.registry import instances as q
from roost.registry import ports as port_store
from roost.registry.events import record_event
from roost.services import instance_files
from roost.services.app_specs import check_version

if TYPE_CHECKING:
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
    await authorize(actor, "registry.recover")
    outcome = Recovery()
    root = ctx.home.path / "instances"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in folders:
        try:
            record = Record.model_validate(json.loads((folder / RECORD).read_text()))
            validate_instance_id(record.instance_id)
            if record.instance_id != folder.name:
                raise ValueError(f"it names instance {record.instance_id!r}")
        except FileNotFoundError:
            continue  # not an instance directory roost wrote
        except (OSError, ValueError, ValidationError, RoostError) as exc:
            outcome.skipped.append((folder.name, f"unreadable {RECORD}: {_first_line(exc)}"))
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


async def _rebuild(ctx: Context, actor: Actor, record: Record) -> None:
    app = await ctx.apps.get(record.app)
    await check_version(ctx, app, record.version)
    new = NewInstance(
        instance_id=record.instance_id,
        app_pk=app.pk,
        version=record.version,
        name=record.name,
        ordinal=record.ordinal,
        state=State.INACTIVE,
        config=record.config,
        tags=tuple(sorted(set(record.tags))),
        owner=record.owner,
        created_at=record.created_at,
        ports=record.ports,
    )

    def insert(conn: Connection) -> int:
        pk = q.insert_instance(conn, new)
        port_store.insert_ports(conn, ctx.ports.host, pk, new.ports)
        record_event(
            conn,
            actor=actor.name,
            action="instance.recover",
            instance_id=new.instance_id,
            app=app.name,
            details={"version": new.version, "ordinal": new.ordinal, "ports": new.ports},
        )
        return pk

    await ctx.registry.write(insert)
    ctx.ordinals.forget(app.pk)
    instance = await ctx.registry.read(q.get_instance, record.instance_id)
    if instance is not None:
        await instance_files.refresh(ctx, instance)


def _reason(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return "its ordinal or one of its ports now belongs to another instance"
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    message = exc.message if isinstance(exc, RoostError) else str(exc)
    return message.splitlines()[0] if message else type(exc).__name__
