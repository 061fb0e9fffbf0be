"""The portable form of instances (``roost export instance``, ``roost import``): pure.

A document holds one or many instances: their registration (id, name, app, version,
tags, config overrides, ports), and, only when the user asked and gave a passphrase,
their secrets sealed with a key derived from it. It never holds data (that is backups).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roost.domain.errors import InvalidInput
from roost.domain.model import Instance
from roost.yaml_io import SafeDumper, SafeLoader

FORMAT = 1
MAX_INSTANCES = 10000


class PortableInstance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str
    name: str
    app: str
    version: str
    bare: bool = False  # the app has no services: recreated on import if missing
    tags: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    ports: dict[str, Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=dict)
    secrets: str | None = None  # sealed {name: value}, present only when exported


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roost_export: Literal[1] = 1
    exported_at: str | None = None
    secrets_kdf: dict[str, Any] | None = None
    instances: Annotated[list[PortableInstance], Field(min_length=1, max_length=MAX_INSTANCES)]


def portable(instance: Instance, *, bare: bool, sealed_secrets: str | None) -> PortableInstance:
    return PortableInstance(
        instance_id=instance.instance_id,
        name=instance.name,
        app=instance.app,
        version=instance.version,
        bare=bare,
        tags=list(instance.tags),
        config=instance.config,
        ports=instance.ports,
        secrets=sealed_secrets,
    )


def dump(document: Document, format: str) -> str:
    data = document.model_dump(exclude_none=True)
    if format == "yaml":
        return yaml.dump(data, Dumper=SafeDumper, sort_keys=False, allow_unicode=True)
    return json.dumps(data, indent=2) + "\n"


def parse(data: Any) -> Document:
    """A document as decoded from JSON or YAML; every mistake named by where it is."""
    try:
        document = Document.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or 'document'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise InvalidInput(
            "not a roost export: " + "; ".join(problems[:5]), code="INVALID_IMPORT"
        ) from None
    seen: set[str] = set()
    for entry in document.instances:
        if entry.instance_id in seen:
            raise InvalidInput(
                f"instance {entry.instance_id!r} appears twice in the document",
                code="INVALID_IMPORT",
            )
        seen.add(entry.instance_id)
    if any(entry.secrets for entry in document.instances) and document.secrets_kdf is None:
        raise InvalidInput(
            "the document has sealed secrets but no secrets_kdf", code="INVALID_IMPORT"
        )
    return document


def load_text(text: str) -> Any:
    """JSON or YAML text (YAML is a superset of JSON)."""
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"not JSON or YAML: {str(exc).splitlines()[0]}", code="INVALID_IMPORT"
        ) from None
