"""Instance use cases: create, read, list, update, act on the lifecycle, delete."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from roost.auth import Actor, authorize
from roost.domain.clock import utcnow
from roost.domain.errors import Conflict, InvalidInput, RoostError, instance_not_found
from roost.domain.ids import new_instance_id, ordinal_of_id, validate_instance_id
from roost.domain.model import App, Instance, InstanceFilter, NewInstance
from roost.domain.spec import AppSpec
from roost.domain.states import Action, Health, State, is_noop, transition
from roost.domain.values import check_json_value, merge_patch
from roost.instance_dir import InstanceDir
from roost.keys import KeyPair
from roost.ports import Wanted, plan_ports
from roost.registry import instances as q
from roost.registry import keys as key_store
from roost.registry import ports as port_store
from roost.registry import secrets as secret_store
from roost.registry.events import record_event
from roost.services import instance_files
from roost.services.app_specs import check_version

if TYPE_CHECKING:
    from roost.services.context import Context

CREATE_ATTEMPTS = 8
MAX_PAGE = 1000
ACT_CONCURRENCY = 64  # instances acted on at once by one batch: starts mostly wait on ports
log = logging.getLogger("roost.instances")


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


@dataclass(frozen=True)
class Page:
    instances: list[Instance]
    next_cursor: str | None


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
    await authorize(actor, "instance.create", instance_id)
    check_json_value(request.config, field="config")
    app = await ctx.apps.for_new_instance(request.app)
    await check_version(ctx, app, request.version)
    wanted_ordinal = None if instance_id is None else ordinal_of_id(instance_id)
    private_encrypted = None if key_pair is None else ctx.box.encrypt(key_pair.private_pem)
    version = request.version or app.version
    # the spec of the version the instance is made from (None: a bare app's label)
    spec = await ctx.apps.spec_of_version(app, version)

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

        def insert(conn: Connection, new: NewInstance = new) -> int:
            pk = q.insert_instance(conn, new)
            port_store.insert_ports(conn, ctx.ports.host, pk, new.ports)
            if key_pair is not None and private_encrypted is not None:
                key_store.insert_keys(conn, pk, key_pair.public_pem, private_encrypted)
            record_event(
                conn,
                actor=actor.name,
                action=event_action,
                instance_id=new.instance_id,
                app=app.name,
                details={"version": new.version, "ordinal": new.ordinal, "state": new.state},
            )
            return pk

        try:
            pk = await ctx.registry.write(insert)
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
            await _remove(ctx, actor, instance, action="instance.install-failed")
            raise
    if instance.state is not State.PENDING:
        return instance

    def apply(conn: Connection) -> Instance:
        now = utcnow()
        q.compare_and_set_state(
            conn, instance.pk, expected=State.PENDING, new=State.INACTIVE, at=now
        )
        record_event(
            conn,
            actor=actor.name,
            action="instance.installed",
            instance_id=instance.instance_id,
            app=instance.app,
        )
        return replace(instance, state=State.INACTIVE, updated_at=now)

    return await ctx.registry.write(apply)


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


async def get_instance(ctx: Context, actor: Actor, instance_id: str) -> Instance:
    validate_instance_id(instance_id)
    await authorize(actor, "instance.read", instance_id)
    instance = await ctx.registry.read(q.get_instance, instance_id)
    if instance is None:
        raise instance_not_found(instance_id)
    return instance


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"i:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "i" or not value.isdigit():
            raise ValueError(cursor)
        return int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput(f"invalid cursor {cursor!r}", code="INVALID_CURSOR") from None


async def list_instances(
    ctx: Context, actor: Actor, where: InstanceFilter, *, limit: int, cursor: str | None
) -> Page:
    await authorize(actor, "instance.list")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", code="INVALID_LIMIT")
    after = decode_cursor(cursor) if cursor else 0
    rows = await ctx.registry.read(q.list_instances, where, after_pk=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].pk) if more else None)


@dataclass(frozen=True)
class Patch:
    name: str | None = None
    tags: tuple[str, ...] | None = None
    config: dict[str, Any] | None = None
    replace_config: bool = False  # config replaces the overrides instead of merge-patching


async def update_instance(ctx: Context, actor: Actor, instance_id: str, patch: Patch) -> Instance:
    """Rename, retag, or merge-patch the config (RFC 7396: ``null`` removes a key)."""
    validate_instance_id(instance_id)
    await authorize(actor, "instance.update", instance_id)
    if patch.config is not None:
        check_json_value(patch.config, field="config")

    def apply(conn: Connection) -> Instance:
        instance = _locked(conn, instance_id)
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
        record_event(
            conn,
            actor=actor.name,
            action="instance.update",
            instance_id=instance_id,
            app=instance.app,
            details={"changed": changed},
        )
        return replace(instance, tags=tags, updated_at=now, **values)

    updated = await ctx.registry.write(apply)
    ctx.directory.forget(instance_id)
    await instance_files.refresh(ctx, updated)
    return updated


def _locked(conn: Connection, instance_id: str) -> Instance:
    instance = q.get_instance(conn, instance_id, for_update=True)
    if instance is None:
        raise instance_not_found(instance_id)
    return instance


async def act(ctx: Context, actor: Actor, instance_id: str, action: Action) -> Instance:
    """Apply a lifecycle action; an action that changes nothing succeeds quietly."""
    validate_instance_id(instance_id)
    await authorize(actor, f"instance.{action.value}", instance_id)
    instance = await get_instance(ctx, actor, instance_id)
    spec = await instance_files.spec_of(ctx, instance)
    if spec is not None and spec.services:
        return await ctx.runner.act(actor, instance, action)  # processes first, then state
    moved = await ctx.registry.write(transition_unit(actor, instance_id, action))
    ctx.directory.forget(instance_id)  # the data plane sees the new state at once
    return moved


async def act_many(
    ctx: Context, actor: Actor, instance_ids: list[str], action: Action
) -> AsyncIterator[tuple[str, Instance | RoostError]]:
    """Apply a lifecycle action to many instances at once (a bounded number at a time);
    each outcome as soon as it is known. One failure does not stop the others, and an
    action under way finishes even if nobody reads its outcome any more."""
    gate = asyncio.Semaphore(ACT_CONCURRENCY)

    async def one(instance_id: str) -> tuple[str, Instance | RoostError]:
        async with gate:
            try:
                return instance_id, await act(ctx, actor, instance_id, action)
            except RoostError as exc:
                return instance_id, exc
            except Exception:
                log.exception("%s of %s failed", action.value, instance_id)
                return instance_id, RoostError("internal server error", code="INTERNAL_ERROR")

    tasks = [asyncio.ensure_future(one(i)) for i in dict.fromkeys(instance_ids)]
    _under_way.update(tasks)
    for task in tasks:
        task.add_done_callback(_under_way.discard)
    for outcome in asyncio.as_completed(tasks):
        yield await outcome


_under_way: set[asyncio.Future[tuple[str, Instance | RoostError]]] = set()  # held till done


def transition_unit(
    actor: Actor, instance_id: str, action: Action
) -> Callable[[Connection], Instance]:
    def apply(conn: Connection) -> Instance:
        instance = _locked(conn, instance_id)
        target = transition(instance.state, action)
        if is_noop(instance.state, action):
            return instance
        now = utcnow()
        q.compare_and_set_state(conn, instance.pk, expected=instance.state, new=target, at=now)
        record_event(
            conn,
            actor=actor.name,
            action=f"instance.{action.value}",
            instance_id=instance_id,
            app=instance.app,
            details={"from": instance.state.value, "to": target.value},
        )
        return replace(instance, state=target, error=None, updated_at=now)

    return apply


async def delete_instance(ctx: Context, actor: Actor, instance_id: str) -> None:
    """Mark the instance ``deleting``, then remove it and everything that hangs off it."""
    validate_instance_id(instance_id)
    await authorize(actor, "instance.delete", instance_id)
    instance = await ctx.registry.write(transition_unit(actor, instance_id, Action.DELETE))
    ctx.directory.forget(instance_id)
    await ctx.runner.remove(instance_id)
    await ctx.cache.drop(instance_id)
    hook = await instance_files.uninstall(ctx, instance)
    details = (
        {} if hook is None else {"uninstall_exit_code": hook.code, "uninstall_output": hook.tail}
    )
    await _remove(ctx, actor, instance, action="instance.deleted", details=details)


async def _remove(
    ctx: Context,
    actor: Actor,
    instance: Instance,
    *,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Delete the registry entry (keys, usage, ports, secrets go with it) and the directory."""

    def remove(conn: Connection) -> None:
        q.delete_instance(conn, instance.pk)
        record_event(
            conn,
            actor=actor.name,
            action=action,
            instance_id=instance.instance_id,
            app=instance.app,
            details=details or {},
        )

    await ctx.registry.write(remove)
    InstanceDir(ctx.home.path, instance.instance_id).remove()
    (await ctx.ordinals.book(instance.app_pk)).release(instance.ordinal)
    ctx.ports.release(instance.ports.values())


async def clean_instance(ctx: Context, actor: Actor, instance_id: str) -> Instance:
    """Seed 004's ``clean``: files, logs and data go; the instance and its ports stay."""
    instance = await get_instance(ctx, actor, instance_id)
    await authorize(actor, "instance.clean", instance_id)
    if instance.state in (State.ACTIVE, State.PAUSED, State.MIGRATING):
        raise Conflict(
            f"instance {instance_id!r} is {instance.state.value}: stop it before cleaning",
            code="INVALID_TRANSITION",
            state=instance.state.value,
            action="clean",
        )
    await instance_files.clean(ctx, instance)

    def record(conn: Connection) -> None:
        record_event(
            conn,
            actor=actor.name,
            action="instance.clean",
            instance_id=instance_id,
            app=instance.app,
        )

    await ctx.registry.write(record)
    return instance


async def clone_instance(
    ctx: Context,
    actor: Actor,
    source_id: str,
    *,
    instance_id: str | None = None,
    name: str | None = None,
    with_data: bool = True,
) -> Instance:
    """A new instance of the same app and version: its own id, ordinal and ports; the
    source's config, tags and secrets; its files rendered for itself; a copy of its data.
    Key pairs and quota usage are not copied: they belong to the source."""
    source = await get_instance(ctx, actor, source_id)
    await authorize(actor, "instance.clone", source_id)
    request = CreateRequest(
        app=source.app,
        version=source.version,
        instance_id=instance_id,
        name=name or f"{source.name} (copy)",
        tags=source.tags,
        config=source.config,
    )
    clone = await create_instance(ctx, actor, request, event_action="instance.clone")

    def copy_secrets(conn: Connection) -> int:
        copied = 0
        for secret, _ in secret_store.secret_names(conn, source.pk):
            token = secret_store.secret_value(conn, source.pk, secret)
            if token is not None:
                secret_store.put_secret(conn, clone.pk, secret, token, utcnow())
                copied += 1
        record_event(
            conn,
            actor=actor.name,
            action="instance.cloned",
            instance_id=clone.instance_id,
            app=clone.app,
            details={"from": source_id, "secrets": copied, "with_data": with_data},
        )
        return copied

    await ctx.registry.write(copy_secrets)
    if with_data:
        source_data = InstanceDir(ctx.home.path, source_id).path / "data"
        if source_data.is_dir():
            await asyncio.to_thread(
                shutil.copytree,
                source_data,
                InstanceDir(ctx.home.path, clone.instance_id).path / "data",
                symlinks=True,
                dirs_exist_ok=True,
            )
    await instance_files.refresh(ctx, clone)
    return clone
