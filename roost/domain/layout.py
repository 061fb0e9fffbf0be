"""The instance directory's layout, by name (pure): what roost itself keeps there.

``roost.instance_dir`` turns these names into paths and writes; the spec refuses a file
that would take one of roost's own names.
"""

from __future__ import annotations

ENV_FILE = "roost.env"  # the environment, without secrets
RECORD = "instance.json"  # enough to rebuild the registry entry
DATA = "data"  # the instance's own state
LOGS = "logs"  # <service>.log, written by the service itself
ENV = "env"  # <service>.env
SUBDIRS = (DATA, LOGS, ENV)
RESERVED_FILES = frozenset({ENV_FILE, RECORD})
RESERVED_FOLDERS = frozenset({ENV, LOGS})


def service_env_file(service: str) -> str:
    """A service's env file, relative to the instance directory."""
    return f"{ENV}/{service}.env"


def log_file(service: str) -> str:
    """A service's log, relative to the instance directory."""
    return f"{LOGS}/{service}.log"


def is_reserved(path: str) -> bool:
    """A path (relative to the instance directory) that roost writes itself."""
    return path in RESERVED_FILES or path.split("/", 1)[0] in RESERVED_FOLDERS
