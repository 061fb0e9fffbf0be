"""Creating without serialising: an ordinal book made stale by a writer this process did
not see costs a retry, not an error."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

from roost.auth import LOCAL_ACTOR
from roost.domain.model import NewInstance
from roost.domain.states import State
from roost.registry import instances as q
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance


async def test_a_stale_ordinal_book_is_reloaded_and_the_create_retried(
    context: Context,
) -> None:
    first = await create_instance(context, LOCAL_ACTOR, CreateRequest(instance_id="a"))
    assert first.ordinal == 0
    # another server on the same registry takes ordinal 1 behind this one's back
    other = NewInstance(
        instance_id="elsewhere",
        app_pk=first.app_pk,
        version=first.version,
        name="elsewhere",
        ordinal=1,
        state=State.ACTIVE,
        config={},
        tags=(),
        owner=None,
        created_at=datetime.now(UTC),
    )

    def insert(conn: Connection) -> int:
        return q.insert_instance(conn, other)

    await context.registry.write(insert)
    second = await create_instance(context, LOCAL_ACTOR, CreateRequest(instance_id="b"))
    assert second.ordinal == 2  # ordinal 1 lost the insert; the reloaded book knew it
