"""Validation before creation (seed 002's "validate connectivity"): the app's ``validate``
probe, rendered with the new instance's id, name and config, run before anything of the
instance exists. A failure leaves nothing behind but the refusal, recorded as an event.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from roost.auth import Actor
from roost.domain.errors import InvalidInput
from roost.domain.probe_spec import HealthSpec
from roost.domain.spec import AppSpec
from roost.domain.templates import render
from roost.runtime.plan import INHERITED, Probe, probe_of
from roost.runtime.probes import run_probe
from roost.services.changes import Recorder, commit
from roost.services.context import Context

WHERE = "validate"


def validate_probe(spec: HealthSpec, context: Mapping[str, Any]) -> Probe:
    """The probe ``spec`` names, rendered (``tcp`` is ``host:port`` here: nothing of the
    instance, its ports included, exists yet)."""

    def host_and_port(template: str) -> tuple[str, int]:
        address = render(template, context, where=WHERE)
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidInput(
                f"validate.tcp rendered to {address!r}: use host:port", code="VALIDATION_FAILED"
            )
        return host.strip("[]"), int(port)

    return probe_of(spec, context, WHERE, host_and_port)


async def validate_new_instance(
    ctx: Context,
    actor: Actor,
    spec: AppSpec | None,
    *,
    app: str,
    version: str,
    instance_id: str | None,
    name: str | None,
    tags: tuple[str, ...],
    config: Mapping[str, Any],
) -> None:
    """Run the app's ``validate`` probe for an instance about to be made; 400
    ``VALIDATION_FAILED`` (recorded) when it fails."""
    if spec is None or spec.validation is None:
        raise InvalidInput(
            f"the app {app!r} declares no validate probe", code="NOTHING_TO_VALIDATE", app=app
        )
    merged = {**spec.config, **config}
    context = {
        "instance": {
            "id": instance_id,
            "name": name or instance_id,
            "app": app,
            "version": version,
            "tags": list(tags),
        },
        "config": merged,
        "app": {"name": app, "version": version},
        "ports": {},  # none are allocated yet
    }
    probe = validate_probe(spec.validation, context)
    environment = {k: v for k, v in os.environ.items() if k in INHERITED}
    environment |= {
        "ROOST_INSTANCE_ID": instance_id or "",
        "ROOST_APP": app,
        "ROOST_CONFIG": json.dumps(merged),
    }
    with tempfile.TemporaryDirectory(prefix="roost-validate-") as folder:
        result = await run_probe(probe, Path(folder), environment)
    if result.passed:
        return

    def refusal(conn: Connection, record: Recorder) -> None:
        record(
            "instance.validation_failed",
            instance_id,
            app=app,
            outcome="error",
            details={"error": result.error},
        )

    await commit(ctx, actor, refusal)
    raise InvalidInput(
        f"validation failed: {result.error}",
        code="VALIDATION_FAILED",
        probe_error=result.error,
    )
