"""Fixtures for use cases called directly, without HTTP: a bare app's instance."""

from __future__ import annotations

import pytest

from roost.auth import LOCAL_ACTOR
from roost.domain.model import Instance
from roost.services.context import Context
from roost.services.create import CreateRequest, create_instance


@pytest.fixture
async def bare(context: Context) -> Instance:
    """An instance of the bare app ``default``: active at once, no processes."""
    return await create_instance(context, LOCAL_ACTOR, CreateRequest(instance_id="b1"))
