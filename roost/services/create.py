"""Creating an instance: its id, ordinal and ports taken without serialising creates,
its directory rendered and its install hook run.

An ordinal is taken from the app's in-memory book and the ports are reserved before the
insert; the unique constraints of the registry stay the arbiters. When an insert loses
to another writer, the error that explains it is raised (the id, the ordinal or a port
is taken) or, when the loss was only a stale book, the create tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor
from roost.domain.backup_schedule import schedule_of
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict
from roost.domain.ids import new_instance_id, ordinal_of_id, validate_instance_id
from roost.domain.model import App, Instance, NewInstance
from roost.domain.spec import AppSpec
from roost.domain.states import Health, State
from roost.domain.values import check_config_size, check_json_value
from roost.keys import KeyPair
from roost.ports import Wanted, plan_ports
from roost.registry import instances as q
from roost.registry import keys as key_store
from roost.registry import ports as port_store
from roost.services import instance_files
from roost.services.app_specs import check_version
from roost.services.apps import DEFAULT_APP
from roost.services.changes import Recorder, commit
from roost.services.context import Context
from roost.services.removal import remove_entry
from roost.services.validation import validate_new_instance

CREATE_ATTEMPTS = 8


@dataclass(frozen=True)
class CreateRequest:
    app: str | None = None
    version: str | None = None
    instance_id: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    auto_ports: bool = False
    validate: bool = False  # run the app's validate probe first


def initial_state(app: App) -> State:
    """Bare apps are active at once; apps with services install first (DESIGN.md)."""
    return State.ACTIVE if app.bare else State.PENDING


async def create_instance(
    ctx: Context,
    actor: Actor,
    request: CreateRequest,
    *,
    key_pair: KeyPair | None = None,
    event_action: str = "instance.create",
) -> Instance:
    """Create an instance; with ``key_pair``, its keys are stored in the same transaction."""
    instance_id = request.instance_id
    if instance_id is not None:
        validate_instance_id(instance_id)
    check_json_value(request.config, field="config")
    check_config_size(request.config)
    schedule_of({}, request.config)  # its own backup schedule, if it sets one
    named = request.app or await ctx.apps.default_name() or DEFAULT_APP
    await ctx.policy.authorize(actor, "instance.create", named)  # the app: a token's scope
    app = await ctx.apps.for_new_instance(request.app)
    await check_version(ctx, app, request.version)
    wanted_ordinal = None if instance_id is None else ordinal_of_id(instance_id)
    private_encrypted = None if key_pair is None else ctx.box.encrypt(key_pair.private_pem)
    version = request.version or app.version
    # the spec of the version the instance is made from (None: a bare app's label)
    spec = await ctx.apps.spec_of_version(app, version)
    if request.validate:
        await validate_new_instance(
            ctx,
            actor,
            spec,
            app=app.name,
            version=version,
            instance_id=instance_id,
            name=request.name,
            tags=request.tags,
            config=request.config,
        )

    for _ in range(CREATE_ATTEMPTS):
        current_id = instance_id or new_instance_id()
        book = await ctx.ordinals.book(app.pk)
        if wanted_ordinal is None:
            ordinal = book.take_smallest_free()
        elif not book.take(wanted_ordinal):
            await _refuse_taken(ctx, app, current_id, wanted_ordinal)
            ctx.ordinals.forget(app.pk)  # the book was stale: the registry has it free
            continue
        else:
            ordinal = wanted_ordinal
        try:
            wanted = plan_ports(
                spec.ports if spec else {},
                stride=spec.port_stride if spec else 1,
                ordinal=ordinal,
                explicit=request.ports,
            )
            allocated = await ctx.ports.allocate(wanted, auto_fallback=request.auto_ports)
        except BaseException:
            book.release(ordinal)
            raise
        new = NewInstance(
            instance_id=current_id,
            app_pk=app.pk,
            version=version,
            name=request.name or current_id,
            ordinal=ordinal,
            state=initial_state(app),
            config=request.config,
            tags=tuple(sorted(set(request.tags))),
            owner=actor.name,
            created_at=utcnow(),
            ports=allocated,
        )

        def insert(conn: Connection, record: Recorder, new: NewInstance = new) -> int:
            pk = q.insert_instance(conn, new)
            port_store.insert_ports(conn, ctx.ports.host, pk, new.ports)
            if key_pair is not None and private_encrypted is not None:
                key_store.insert_keys(conn, pk, key_pair.public_pem, private_encrypted)
            record(
                event_action,
                new.instance_id,
                app=app.name,
                details={"version": new.version, "ordinal": new.ordinal, "state": new.state},
            )
            return pk

        try:
            pk = await commit(ctx, actor, insert)
        except IntegrityError:
            book.release(ordinal)
            ctx.ports.release(allocated.values())
            await _refuse_taken(ctx, app, current_id, wanted_ordinal)
            await _refuse_port_taken(ctx, wanted, request.auto_ports)
            if await ctx.registry.read(q.holder_of_ordinal, app.pk, ordinal) is not None:
                # a writer this process did not see: reload the book. Otherwise keep it,
                # with the ordinals of other creates still in flight.
                ctx.ordinals.forget(app.pk)
            continue
        except BaseException:
            book.release(ordinal)
            ctx.ports.release(allocated.values())
            raise
        return await _installed(ctx, actor, _created(pk, new, app), spec)
    raise Conflict(
        "could not create the instance: too many concurrent conflicts, try again",
        code="CREATE_CONFLICT",
    )


async def _installed(
    ctx: Context, actor: Actor, instance: Instance, spec: AppSpec | None
) -> Instance:
    """Render the instance's directory and run its install hook, if its app has them (a
    failed install removes the instance entirely). An app with services leaves the
    instance ``pending`` until then, and ``inactive`` after."""
    if instance_files.has_directory(spec):
        try:
            await instance_files.install(ctx, instance)
        except BaseException:
            await remove_entry(ctx, actor, instance, action="instance.install-failed")
            raise
    if instance.state is not State.PENDING:
        return instance

    def apply(conn: Connection, record: Recorder) -> Instance:
        now = utcnow()
        q.compare_and_set_state(
            conn, instance.pk, expected=State.PENDING, new=State.INACTIVE, at=now
        )
        record("instance.installed", instance)
        return replace(instance, state=State.INACTIVE, updated_at=now)

    return await commit(ctx, actor, apply)


async def _refuse_taken(ctx: Context, app: App, instance_id: str, ordinal: int | None) -> None:
    """After a lost race, raise the error that explains it (or return to retry)."""
    if await ctx.registry.read(q.instance_exists, instance_id):
        raise Conflict(
            f"instance {instance_id!r} already exists",
            code="INSTANCE_EXISTS",
            instance_id=instance_id,
        )
    if ordinal is None:
        return
    holder = await ctx.registry.read(q.holder_of_ordinal, app.pk, ordinal)
    if holder is not None:
        raise Conflict(
            f"ordinal {ordinal} of app {app.name!r} is taken by instance {holder!r}",
            code="ORDINAL_TAKEN",
            ordinal=ordinal,
            holder=holder,
        )


async def _refuse_port_taken(ctx: Context, wanted: list[Wanted], auto_ports: bool) -> None:
    """A planned port went to another instance meanwhile: 409, unless it may move."""
    planned = {w.port: w for w in wanted if w.port is not None and not auto_ports}
    if not planned:
        return
    held = await ctx.registry.read(port_store.holders, ctx.ports.host, list(planned))
    for port, holder in held.items():
        raise Conflict(
            f"port {port} ({planned[port].name}) is held by instance {holder!r}",
            code="PORT_CONFLICT",
            port=port,
            name=planned[port].name,
            holder=holder,
        )


def _created(pk: int, new: NewInstance, app: App) -> Instance:
    return Instance(
        pk=pk,
        instance_id=new.instance_id,
        app=app.name,
        app_pk=app.pk,
        version=new.version,
        name=new.name,
        ordinal=new.ordinal,
        state=new.state,
        health=Health.UNKNOWN,
        config=new.config,
        tags=new.tags,
        ports=new.ports,
        owner=new.owner,
        created_at=new.created_at,
        updated_at=new.created_at,
    )
