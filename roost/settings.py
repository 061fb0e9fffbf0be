"""Settings: flags first, then environment, then defaults (DESIGN.md "Home").

The home is ``--home``, else ``ROOST_HOME``, else ``.roost/`` beside the nearest
``roost.toml`` (project mode, like compose), else the XDG data dir.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from roost.domain.backups import S3Location
from roost.domain.durations import parse_duration
from roost.domain.errors import InvalidInput
from roost.domain.names import has_control
from roost.domain.sizes import parse_size

DEFAULT_URL = "http://127.0.0.1:8080"
SPEC_FILE = "roost.toml"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    url: str = DEFAULT_URL
    url_explicit: bool = False  # --url or ROOST_URL given: the CLI talks HTTP, not the socket
    home_explicit: bool = False  # --home or ROOST_HOME given
    token: str | None = None  # the CLI's bearer token for a server that checks them
    auth: str = "auto"  # on, off, auto (off on a loopback-only bind)
    bootstrap_token: str | None = None  # the first admin token, when auth is on
    secret_key: str | None = None
    lcc_url: str | None = None
    cache_backend: str = "embedded"
    cache_auto_create: bool = True
    cache_max_value_bytes: int = 1024 * 1024
    cache_memory_bytes: int = 64 * 1024 * 1024
    port_range: str = "20000-29999"
    log_max_bytes: int = 10 * 1024 * 1024  # a service log rotates past this
    log_keep: int = 5  # rotated logs kept
    autostart: bool = True  # roost serve starts instances that should run and do not
    stop_on_exit: bool = False  # roost serve stops every instance when it stops
    max_body_bytes: int = 1024 * 1024  # a control-plane request body
    max_upload_bytes: int = 64 * 1024**3  # a backup archive uploaded
    cache_max_batch_bytes: int = 16 * 1024 * 1024  # a data-plane batch body
    client_timeout_s: float = 30.0  # for a request's headers, and for its body
    auth_required: bool = False  # bearer tokens over TCP (roost serve resolves --auth)
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides loopback and the bind
    trusted_origins: tuple[str, ...] = ()  # browser origins allowed to act (and CORS)
    metrics_interval_s: float = 15.0  # how often every running instance is sampled
    metrics_retention_s: float = 7 * 86_400.0  # samples older than this are dropped
    backup_s3: str | None = None  # s3://bucket/prefix: every archive is copied there
    backup_s3_endpoint: str | None = None  # an S3-compatible server's URL (default: AWS)
    backup_s3_region: str | None = None
    backup_restic: str | None = None  # a restic repository: a path, s3:..., sftp:...
    backup_restic_password_file: Path | None = None  # default: restic.password in the home

    @classmethod
    def load(
        cls,
        *,
        home: Path | None = None,
        database_url: str | None = None,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Settings:
        env = os.environ if env is None else env
        resolved_home = resolve_home(home, env, cwd or Path.cwd())
        return cls(
            home=resolved_home,
            database_url=database_url
            or env.get("ROOST_DATABASE_URL")
            or sqlite_url(resolved_home / "roost.db"),
            url=check_url((url or env.get("ROOST_URL") or DEFAULT_URL).rstrip("/")),
            url_explicit=bool(url or env.get("ROOST_URL")),
            home_explicit=bool(home or env.get("ROOST_HOME")),
            token=env.get("ROOST_TOKEN") or None,
            auth=check_auth(env.get("ROOST_AUTH") or "auto"),
            bootstrap_token=env.get("ROOST_BOOTSTRAP_TOKEN") or None,
            secret_key=env.get("ROOST_SECRET_KEY") or None,
            lcc_url=env.get("ROOST_LCC_URL") or None,
            cache_backend=env.get("ROOST_CACHE_BACKEND") or "embedded",
            cache_auto_create=_flag(env.get("ROOST_CACHE_AUTO_CREATE"), default=True),
            cache_max_value_bytes=parse_size(
                env.get("ROOST_CACHE_MAX_VALUE_BYTES") or 1024 * 1024,
                field="ROOST_CACHE_MAX_VALUE_BYTES",
            ),
            port_range=env.get("ROOST_PORT_RANGE") or "20000-29999",
            log_max_bytes=parse_size(
                env.get("ROOST_LOG_MAX_BYTES") or 10 * 1024 * 1024, field="ROOST_LOG_MAX_BYTES"
            ),
            log_keep=_count(env.get("ROOST_LOG_KEEP"), default=5, field="ROOST_LOG_KEEP"),
            cache_memory_bytes=parse_size(
                env.get("ROOST_CACHE_MEMORY_BYTES") or 64 * 1024 * 1024,
                field="ROOST_CACHE_MEMORY_BYTES",
            ),
            max_body_bytes=parse_size(
                env.get("ROOST_MAX_BODY_BYTES") or 1024 * 1024, field="ROOST_MAX_BODY_BYTES"
            ),
            max_upload_bytes=parse_size(
                env.get("ROOST_MAX_UPLOAD_BYTES") or 64 * 1024**3, field="ROOST_MAX_UPLOAD_BYTES"
            ),
            cache_max_batch_bytes=parse_size(
                env.get("ROOST_CACHE_MAX_BATCH_BYTES") or 16 * 1024 * 1024,
                field="ROOST_CACHE_MAX_BATCH_BYTES",
            ),
            client_timeout_s=_count(
                env.get("ROOST_CLIENT_TIMEOUT"), default=30, field="ROOST_CLIENT_TIMEOUT", least=1
            ),
            allowed_hosts=_words(env.get("ROOST_ALLOWED_HOSTS")),
            trusted_origins=_words(env.get("ROOST_TRUSTED_ORIGINS")),
            metrics_interval_s=_seconds(
                env.get("ROOST_METRICS_INTERVAL"), default=15, field="ROOST_METRICS_INTERVAL"
            ),
            metrics_retention_s=_seconds(
                env.get("ROOST_METRICS_RETENTION"),
                default=7 * 86_400,
                field="ROOST_METRICS_RETENTION",
            ),
            backup_s3=_s3_location(env.get("ROOST_BACKUP_S3")),
            backup_s3_endpoint=env.get("ROOST_BACKUP_S3_ENDPOINT") or None,
            backup_s3_region=env.get("ROOST_BACKUP_S3_REGION") or None,
            backup_restic=env.get("ROOST_BACKUP_RESTIC") or None,
            backup_restic_password_file=_path(env.get("ROOST_BACKUP_RESTIC_PASSWORD_FILE")),
        )


AUTH_MODES = ("on", "off", "auto")


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _s3_location(url: str | None) -> str | None:
    if not url:
        return None
    S3Location.parse(url)  # a mistake is told at start, not at the first backup
    return url


def check_auth(mode: str) -> str:
    if mode not in AUTH_MODES:
        raise InvalidInput(f"auth is on, off or auto, not {mode!r}", code="INVALID_SETTING")
    return mode


def check_url(url: str) -> str:
    """``http://host[:port]`` or ``https://...``; anything else is ``INVALID_URL``."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError:
        valid = False
    if not valid or has_control(url):
        raise InvalidInput(
            f"invalid server URL {url!r}: use http://HOST[:PORT] or https://...",
            code="INVALID_URL",
        )
    return url


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"expected true or false, got {value!r}", code="INVALID_SETTING")


def _words(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, each entry trimmed and lowercased."""
    return tuple(word.strip().lower() for word in (value or "").split(",") if word.strip())


def _count(value: str | None, *, default: int, field: str, least: int = 0) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not least <= int(value) <= 1000:
        raise InvalidInput(
            f"{field} must be a whole number from {least} to 1000", code="INVALID_SETTING"
        )
    return int(value)


def _seconds(value: str | None, *, default: float, field: str) -> float:
    """A duration (``15s``, ``7d``), at least a second."""
    seconds = parse_duration(value, field=field) if value else default
    if seconds < 1:
        raise InvalidInput(f"{field} must be at least 1s", code="INVALID_SETTING")
    return seconds


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def resolve_home(flag: Path | None, env: Mapping[str, str], cwd: Path) -> Path:
    if flag is not None:
        return flag.expanduser().resolve()
    if env.get("ROOST_HOME"):
        return Path(env["ROOST_HOME"]).expanduser().resolve()
    spec = find_spec_file(cwd)
    if spec is not None:
        return spec.parent / ".roost"
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser().resolve() / "roost"


def find_spec_file(start: Path) -> Path | None:
    """The nearest ``roost.toml`` in ``start`` or one of its parents."""
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / SPEC_FILE
        if candidate.is_file():
            return candidate
    return None
