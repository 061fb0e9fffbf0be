"""A probe as the app spec gives it: a service's ``health``, or an app's ``validate``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from roost.domain.durations import parse_duration
from roost.domain.errors import InvalidInput


class HealthSpec(BaseModel):
    """A probe: exactly one of ``http`` (a URL template; 2xx and 3xx pass), ``tcp`` (a
    port name; a connection passes) or ``cmd`` (argv templates; exit 0 passes), and when
    and how its results count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http: str | None = None
    tcp: str | None = None
    command: list[str] | None = Field(default=None, validation_alias=AliasChoices("cmd", "command"))
    interval: float = 10.0
    timeout: float = 2.0
    failures: Annotated[int, Field(ge=1, le=1000)] = 3  # in a row, before unhealthy
    successes: Annotated[int, Field(ge=1, le=1000)] = 1  # in a row, before healthy
    start_period: float = 0.0  # after a start, failures do not count

    def kinds(self) -> list[str]:
        return [k for k in ("http", "tcp", "command") if getattr(self, k) is not None]

    def templates(self) -> list[tuple[str, str]]:
        """Each template of the probe, with its key (``.http``, ``.cmd[0]`` ...)."""
        named = [(f".{k}", t) for k, t in (("http", self.http), ("tcp", self.tcp)) if t]
        return named + [(f".cmd[{i}]", part) for i, part in enumerate(self.command or [])]

    @field_validator("interval", "timeout", "start_period", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        try:
            return parse_duration(value, field="value")
        except InvalidInput as exc:  # as pydantic's own, so it keeps the field's place
            raise ValueError(exc.message) from None
