"""Everything a running roost holds open: settings, home, registry, key box, caches."""

from __future__ import annotations

from dataclasses import dataclass

from roost.home import Home
from roost.registry.database import Registry
from roost.secrets import SecretBox
from roost.services.apps import AppCatalog
from roost.services.ordinals import OrdinalAllocator
from roost.settings import Settings


@dataclass
class Context:
    settings: Settings
    home: Home
    registry: Registry
    box: SecretBox
    apps: AppCatalog
    ordinals: OrdinalAllocator

    @classmethod
    async def open(cls, settings: Settings) -> Context:
        home = Home(settings.home)
        home.ensure()
        box = SecretBox.from_setting(settings.secret_key, home.secret_key())
        registry = Registry(settings.database_url)
        await registry.open()
        return cls(
            settings=settings,
            home=home,
            registry=registry,
            box=box,
            apps=AppCatalog(registry),
            ordinals=OrdinalAllocator(registry),
        )

    async def close(self) -> None:
        await self.registry.close()
