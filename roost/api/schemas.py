"""Request and response bodies of the control plane (pydantic), and their converters."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from roost.domain.clock import rfc3339
from roost.domain.ids import ID_PATTERN
from roost.domain.model import Event, Instance
from roost.domain.states import Health, State
from roost.services.create import CreateRequest
from roost.services.usage import Usage

# Free text that every backend stores as given: printable, no control characters.
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Tag = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:=/-]*$")
]
Version = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
]
FeatureId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# Ids are validated by roost itself (400 INVALID_INSTANCE_ID, not 422): the pattern is
# documented in the OpenAPI document but not enforced by pydantic.
IdText = Annotated[str, Field(max_length=200, json_schema_extra={"pattern": ID_PATTERN})]
InstancePath = Annotated[str, Path(json_schema_extra={"pattern": ID_PATTERN})]
Units = Annotated[int, Field(ge=1, le=10**12)]


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON response from data that is already in its documented shape."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error: a sentence and a stable code, sometimes with more fields."""

    model_config = ConfigDict(extra="allow")
    error: str
    code: str


class InstanceIds(Strict):
    instance_ids: list[IdText] = Field(min_length=1, max_length=10_000)


class RollingIn(Strict):
    max_unavailable: int = Field(default=1, ge=1, le=1000, description="restarted at once")
    timeout: float = Field(
        default=60.0, gt=0, le=3600, description="seconds for each to be healthy again"
    )


class RestartMany(InstanceIds):
    rolling: RollingIn | None = Field(
        default=None,
        description="a few at a time, each healthy again before the next; the first that"
        " is not stops the roll",
    )


class UpgradeMany(RestartMany):
    version: Version | None = Field(default=None, description="default: the app's current")


class InstanceCreate(Strict):
    app: IdText | None = None
    version: Version | None = None
    instance_id: IdText | None = None
    name: Name | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    config: dict[str, Any] = Field(default_factory=dict)
    ports: dict[str, Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=dict, description="explicit ports by name, instead of the spec's"
    )
    auto_ports: bool = Field(default=False, description="a conflicting port falls back to auto")
    validate_first: bool = Field(
        default=False,
        alias="validate",
        description="run the app's validate probe first; nothing is made if it fails",
    )

    def to_request(self) -> CreateRequest:
        return CreateRequest(
            app=self.app,
            version=self.version,
            instance_id=self.instance_id,
            name=self.name,
            tags=tuple(self.tags),
            config=self.config,
            ports=self.ports,
            auto_ports=self.auto_ports,
            validate=self.validate_first,
        )


class InstanceClone(Strict):
    instance_id: IdText | None = None
    name: Name | None = None
    with_data: bool = True
    from_backup: str | None = Field(default=None, max_length=64)  # a backup's name


class OrphanRestore(Strict):
    instance_id: IdText | None = None
    name: Name | None = None


class InstancePatch(Strict):
    name: Name | None = None
    tags: list[Tag] | None = Field(default=None, max_length=64)
    config: dict[str, Any] | None = Field(
        default=None, description="JSON merge patch (RFC 7396): null removes a key"
    )


class InstanceOut(BaseModel):
    instance_id: str
    name: str
    app: str
    version: str
    ordinal: int
    state: State
    error: str | None
    health: Health
    health_error: str | None
    tags: list[str]
    ports: dict[str, int]
    owner: str | None
    config: dict[str, Any]
    created_at: str
    updated_at: str
    last_active_at: str | None
    last_health_check: str | None


def instance_json(instance: Instance) -> dict[str, Any]:
    """An instance in the shape of :class:`InstanceOut`, as plain JSON-ready data.

    Hot routes (list, create) answer with this directly: validating our own output
    through pydantic again on every response cost more than the database read.
    """
    return {
        "instance_id": instance.instance_id,
        "name": instance.name,
        "app": instance.app,
        "version": instance.version,
        "ordinal": instance.ordinal,
        "state": instance.state.value,
        "error": instance.error,
        "health": instance.health.value,
        "health_error": instance.health_error,
        "tags": list(instance.tags),
        "ports": instance.ports,
        "owner": instance.owner,
        "config": instance.config,
        "created_at": rfc3339(instance.created_at),
        "updated_at": rfc3339(instance.updated_at),
        "last_active_at": rfc3339(instance.last_active_at),
        "last_health_check": rfc3339(instance.last_health_check),
    }


class InstanceList(BaseModel):
    instances: list[InstanceOut]
    next_cursor: str | None


class EventOut(BaseModel):
    id: int
    at: str
    actor: str
    token: str | None = None  # the id of the token the actor used
    action: str
    outcome: str
    instance_id: str | None
    app: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(
            id=event.pk,
            at=rfc3339(event.at) or "",
            actor=event.actor,
            token=event.token,
            action=event.action,
            outcome=event.outcome,
            instance_id=event.instance_id,
            app=event.app,
            details=event.details,
        )


class EventList(BaseModel):
    events: list[EventOut]


class UsageConsume(Strict):
    feature_id: FeatureId
    units: Units = 1


class UsageReset(Strict):
    feature_id: FeatureId | None = None


class UsageOut(BaseModel):
    instance_id: str
    feature_id: str
    consumed: int
    remaining: int
    limit: int

    @classmethod
    def of(cls, usage: Usage) -> UsageOut:
        return cls(
            instance_id=usage.instance_id,
            feature_id=usage.feature_id,
            consumed=usage.consumed,
            remaining=usage.remaining,
            limit=usage.limit,
        )


class UsageList(BaseModel):
    instance_id: str
    usage: list[UsageOut]


class UsageResetOut(BaseModel):
    instance_id: str
    reset: list[str]


class HealthOut(BaseModel):
    status: str
    mode: str
    timestamp: int
    instance_id: str | None = None
