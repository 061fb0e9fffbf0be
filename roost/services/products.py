"""Seed 000's products: each product is a bare app of its own, each registration an
instance of it. Product ids are taken as LCC gives them (``ProductA``); the app's name is
the id when it is a valid app name, else a slug of it (``ids.product_app_name``), and
an app that is not the product's is never taken over.

The facade in ``roost.api.compat`` speaks the seed's JSON; these use cases speak roost.
"""

from __future__ import annotations

from roost.auth import Actor
from roost.domain.access import visible_to
from roost.domain.errors import NotFound, instance_not_found
from roost.domain.ids import validate_product_id
from roost.domain.model import App, Instance, InstanceFilter
from roost.registry import instances as q
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance
from roost.services.instances import get_instance
from roost.services.keys import new_key_pair
from roost.services.queries import every_instance
from roost.services.removal import delete_instance
from roost.services.usage import Usage, consume

DEFAULT_VERSION = "1.0.0"


async def register(
    ctx: Context, actor: Actor, product_id: str, version: str | None, lcc_url: str | None
) -> Instance:
    """A new instance of ``product_id`` with its own RSA key pair, created atomically."""
    validate_product_id(product_id)
    app = await ctx.apps.ensure_product(product_id, version or DEFAULT_VERSION)
    config = {}
    if lcc_url or ctx.settings.lcc_url:
        config["lcc_url"] = lcc_url or ctx.settings.lcc_url
    pair = await new_key_pair()
    request = CreateRequest(app=app.name, version=version or DEFAULT_VERSION, config=config)
    return await create_instance(
        ctx, actor, request, key_pair=pair, event_action="product.register"
    )


async def _product(ctx: Context, product_id: str) -> App:
    validate_product_id(product_id)
    app = await ctx.apps.product(product_id)
    if app is None:
        raise NotFound(
            f"product {product_id!r} not found", code="PRODUCT_NOT_FOUND", product_id=product_id
        )
    return app


async def _instance_of(ctx: Context, actor: Actor, app: App, instance_id: str) -> Instance:
    """The instance, which must belong to the product: another product's is "not found"."""
    instance = await get_instance(ctx, actor, instance_id)
    if instance.app_pk != app.pk:
        raise instance_not_found(instance_id)
    return instance


async def all_instances(ctx: Context, actor: Actor) -> list[tuple[str, Instance]]:
    """Every registration of every product the caller may see, oldest first, with its
    product id (the instances of apps that are not products are not listed)."""
    await ctx.policy.authorize(actor, "instance.list")
    found = await every_instance(ctx, visible_to(actor, InstanceFilter(products_only=True)))
    return [((await ctx.apps.get_by_pk(i.app_pk)).product or i.app, i) for i in found]


async def instances_of(ctx: Context, actor: Actor, product_id: str) -> list[Instance]:
    """Every instance of the product, oldest first; [] for an unknown product."""
    validate_product_id(product_id)
    app = await ctx.apps.product(product_id)
    await ctx.policy.authorize(actor, "instance.list", app.name if app else None)
    if app is None:
        return []
    return await every_instance(ctx, visible_to(actor, InstanceFilter(app=app.name)))


async def clear(ctx: Context, actor: Actor, product_id: str, instance_id: str | None) -> list[str]:
    """Delete one instance of the product, or (seed 000) all of them without an id."""
    app = await _product(ctx, product_id)
    if instance_id is not None:
        targets = [(await _instance_of(ctx, actor, app, instance_id)).instance_id]
    else:
        targets = [i.instance_id for i in await ctx.registry.read(q.instances_of_app, app.pk)]
    for target in targets:
        await delete_instance(ctx, actor, target)
    return targets


async def test_feature(
    ctx: Context,
    actor: Actor,
    product_id: str,
    feature_id: str,
    instance_id: str | None,
    units: int,
) -> tuple[Instance, Usage]:
    """Consume a feature's units on one instance: the named one, else the oldest."""
    app = await _product(ctx, product_id)
    if instance_id is not None:
        instance = await _instance_of(ctx, actor, app, instance_id)
    else:
        everyone = await ctx.registry.read(q.instances_of_app, app.pk)
        if not everyone:
            raise NotFound(
                f"product {product_id!r} has no registered instance",
                code="INSTANCE_NOT_FOUND",
                product_id=product_id,
            )
        instance = everyone[0]
    return instance, await consume(ctx, actor, instance, feature_id, units)
