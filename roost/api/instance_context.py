"""Which instance a request is about: ``X-Instance-ID`` or ``?instance_id=`` (seed 001).

The data plane and ``/health`` read it the same way: a header that is present counts,
even empty; the two may not name different instances.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from roost.domain.errors import InvalidInput

Scope = MutableMapping[str, Any]


def query_of(scope: Scope) -> dict[str, str]:
    query_string: bytes = scope.get("query_string", b"")
    if not query_string:
        return {}
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


def instance_id_of(scope: Scope) -> str | None:
    """The instance the request names, or None when it names none."""
    header = None
    for name, value in scope["headers"]:
        if name == b"x-instance-id":
            header = value.decode("latin-1")
            break
    query_string: bytes = scope.get("query_string", b"")
    from_query = query_of(scope).get("instance_id") if b"instance_id=" in query_string else None
    if header is not None and from_query is not None and header != from_query:
        raise InvalidInput(
            "X-Instance-ID and ?instance_id= name different instances",
            code="CONFLICTING_INSTANCE_ID",
        )
    return header if header is not None else from_query
