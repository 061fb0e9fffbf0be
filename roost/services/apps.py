"""Apps as instances see them: found by name, cached, created bare when roost may."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from roost.domain.errors import Conflict, NotFound
from roost.domain.ids import product_app_name, validate_app_name
from roost.domain.model import App
from roost.domain.spec import AppSpec, parse_app
from roost.registry import apps as q
from roost.registry.database import Registry

DEFAULT_APP = "default"
DEFAULT_APP_SETTING = "default_app"
DEFAULT_VERSION = "1.0.0"


class AppCatalog:
    """Apps change rarely and are read on every create: keep them in memory."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._by_name: dict[str, App] = {}
        self._by_product: dict[str, App] = {}
        self._default: str | None = None
        self._default_loaded = False
        self._specs: dict[tuple[str, str], AppSpec] = {}

    def forget(self, name: str) -> None:
        app = self._by_name.pop(name, None)
        if app is not None and app.product is not None:
            self._by_product.pop(app.product, None)

    async def spec_of_version(self, app: App, version: str) -> AppSpec | None:
        """The parsed spec of one of the app's versions (None for a bare app's label)."""
        if version == app.version:
            return self.spec_of(app)
        key = (app.name, version)
        spec = self._specs.get(key)
        if spec is None:
            stored = await self._registry.read(q.version_spec, app.pk, version)
            if stored is None:
                return None
            spec = self._specs[key] = parse_app(app.name, stored, where=app.name)
        return spec

    def spec_of(self, app: App) -> AppSpec:
        """The app's parsed spec (its current version), parsed once per version."""
        key = (app.name, app.version)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = parse_app(app.name, app.spec, where=app.name)
        return spec

    async def default_name(self) -> str | None:
        """The app a create uses when it names none (set by ``roost apps add``)."""
        if not self._default_loaded:
            value = await self._registry.read(q.get_setting, DEFAULT_APP_SETTING)
            self._default = value if isinstance(value, str) else None
            self._default_loaded = True
        return self._default

    async def set_default(self, name: str) -> None:
        await self._registry.write(q.set_setting, DEFAULT_APP_SETTING, name)
        self._default, self._default_loaded = name, True

    async def find(self, name: str) -> App | None:
        app = self._by_name.get(name)
        if app is None:
            app = await self._registry.read(q.get_app, name)
            if app is not None:
                self._by_name[name] = app
        return app

    async def get(self, name: str) -> App:
        app = await self.find(name)
        if app is None:
            raise NotFound(f"app {name!r} not found", code="APP_NOT_FOUND", app=name)
        return app

    async def ensure_bare(self, name: str, version: str = DEFAULT_VERSION) -> App:
        """The app called ``name``, created bare (no services) if it does not exist."""
        validate_app_name(name)
        app = await self.find(name)
        if app is not None:
            return app
        try:
            app = await self._registry.write(q.insert_app, name, version, {})
        except IntegrityError:  # created concurrently: take the winner's
            return await self.get(name)
        self._by_name[name] = app
        return app

    async def product(self, product_id: str) -> App | None:
        """The app that holds seed 000's ``product_id`` registrations, if it has any."""
        app = self._by_product.get(product_id)
        if app is None:
            app = await self._registry.read(q.get_product, product_id)
            if app is not None:
                self._by_product[product_id] = app
        return app

    async def ensure_product(self, product_id: str, version: str) -> App:
        """The product's app, made bare on its first registration. An app of that name
        that is not the product's (one with services, or any other) is never taken
        over: 409 ``PRODUCT_CONFLICT``."""
        app = await self.product(product_id)
        if app is not None:
            return app
        name = product_app_name(product_id)
        taken = await self.find(name)
        if taken is None:
            try:
                app = await self._registry.write(q.insert_app, name, version, {}, product_id)
            except IntegrityError:  # made concurrently: the product's, or an app's
                app = await self.product(product_id)
                taken = await self.find(name)
        if app is None:
            kind = "has services" if taken is not None and not taken.bare else "is not a product"
            raise Conflict(
                f"product {product_id!r} would be registered as instances of the app {name!r},"
                f" which {kind}: a product never takes over an app",
                code="PRODUCT_CONFLICT",
                product_id=product_id,
                app=name,
            )
        self._by_name[name] = self._by_product[product_id] = app
        return app

    async def for_new_instance(self, name: str | None) -> App:
        """The app a create names; without a name, the default app, else bare ``default``
        (which a create may also name: it is there whether or not it was made yet)."""
        if name is None:
            default = await self.default_name()
            return await self.get(default) if default else await self.ensure_bare(DEFAULT_APP)
        validate_app_name(name)
        return await self.ensure_bare(name) if name == DEFAULT_APP else await self.get(name)

    async def get_by_pk(self, pk: int) -> App:
        for known in self._by_name.values():
            if known.pk == pk:
                return known
        found = await self._registry.read(q.get_app_by_pk, pk)
        if found is None:
            raise NotFound(f"app #{pk} not found", code="APP_NOT_FOUND")
        self._by_name[found.name] = found
        return found
