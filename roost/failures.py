"""Logging a failure of work that goes on without a caller to tell (background jobs,
listeners, recording what the runtime noticed).

A failure roost names (the registry unreachable, a full disk) is one line: its cause is
logged once where it is noticed (the registry logs an outage when it starts and when it
ends), so a job that fails every few seconds during it does not fill the log with
tracebacks. Anything else is a bug, logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from roost.domain.errors import RegistryUnavailable, RoostError


def log_failure(log: logging.Logger, error: BaseException, message: str, *args: Any) -> None:
    if isinstance(error, RegistryUnavailable):
        log.debug(message + ": %s", *args, error.message)
    elif isinstance(error, RoostError):
        log.warning(message + ": %s", *args, error.message)
    else:
        log.error(message + ": %s", *args, error, exc_info=error)
