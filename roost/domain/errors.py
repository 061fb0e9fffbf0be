"""Every error roost reports: a sentence, an UPPER_SNAKE code, an HTTP status, extra fields.

The API turns these into ``{"error": ..., "code": ..., **extra}``; the CLI prints one line.
"""

from __future__ import annotations

import errno
from typing import Any


class RoostError(Exception):
    """Base of every error that has a stable code and an HTTP status."""

    status: int = 400
    code: str = "BAD_REQUEST"
    headers: dict[str, str] = {}  # extra response headers (read only)

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.extra}


class InvalidInput(RoostError):
    status = 400
    code = "INVALID_INPUT"


class Forbidden(RoostError):
    status = 403
    code = "FORBIDDEN"


class NotFound(RoostError):
    status = 404
    code = "NOT_FOUND"


class Conflict(RoostError):
    status = 409
    code = "CONFLICT"


class TooLarge(RoostError):
    status = 413
    code = "BODY_TOO_LARGE"


class QuotaExceeded(RoostError):
    status = 429
    code = "QUOTA_EXCEEDED"


def instance_not_found(instance_id: str) -> NotFound:
    return NotFound(
        f"instance {instance_id!r} not found", code="INSTANCE_NOT_FOUND", instance_id=instance_id
    )


class InternalError(RoostError):
    """A failure roost did not foresee (logged with its traceback where it happened)."""

    status = 500
    code = "INTERNAL_ERROR"


class InsufficientStorage(RoostError):
    """A write the disk had no room for (``ENOSPC``, ``EDQUOT``): nothing of it is kept."""

    status = 507
    code = "INSUFFICIENT_STORAGE"


def out_of_space(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the user's quota) is full."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def no_room(what: str, error: OSError | None = None) -> InsufficientStorage:
    reason = f": {error.strerror}" if error is not None and error.strerror else ""
    return InsufficientStorage(f"no room on disk to write {what}{reason}", what=what)


class RegistryUnavailable(RoostError):
    """The registry database cannot be reached now (refused, starting up, dropped)."""

    status = 503
    code = "REGISTRY_UNAVAILABLE"
    headers = {"Retry-After": "5"}


def registry_unavailable() -> RegistryUnavailable:
    return RegistryUnavailable(
        "the registry database cannot be reached; try again shortly", retry_after_s=5
    )
