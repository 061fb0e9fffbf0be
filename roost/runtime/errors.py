"""What goes wrong in the runtime, as the runtime says it: a sentence and a stable code.

These carry no HTTP status: the services above the runtime decide what a failure
means to their caller (``roost.services.runner`` maps a failed start to 409).
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    code = "RUNTIME_FAILURE"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class StartFailed(RuntimeFailure):
    """A service did not come up: ``START_FAILED`` (it exited, or could not be spawned
    or confined) or ``START_TIMEOUT`` (it never became ready)."""

    code = "START_FAILED"


class SpawnFailed(RuntimeFailure):
    """The executable could not be started at all (missing, not executable)."""

    code = "SPAWN_FAILED"


class CannotConfine(RuntimeFailure):
    """The instance's limits could not be applied (a cgroup could not be made or set)."""

    code = "CANNOT_CONFINE"


class PortTaken(SpawnFailed):
    """A port the service is to listen on is held by a process that is not its own."""

    code = "PORT_CONFLICT"
