"""Ordinal allocation without serialising creates on the database.

Each app's taken ordinals are loaded once into an :class:`OrdinalBook`; a create takes
its ordinal there (in memory, no await in between) before it inserts. The unique
constraint on (app, ordinal) stays the arbiter: when an insert loses to a writer this
process did not see, the book is reloaded and the create retried.
"""

from __future__ import annotations

from roost.domain.ordinals import OrdinalBook
from roost.registry import instances as q
from roost.registry.database import Registry


class OrdinalAllocator:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._books: dict[int, OrdinalBook] = {}

    async def book(self, app_pk: int) -> OrdinalBook:
        book = self._books.get(app_pk)
        if book is None:
            taken = await self._registry.read(q.ordinals_of_app, app_pk)
            book = self._books.setdefault(app_pk, OrdinalBook(taken))
        return book

    def forget(self, app_pk: int) -> None:
        """Drop the cached book: the next create reloads it from the registry."""
        self._books.pop(app_pk, None)
