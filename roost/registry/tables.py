"""The registry's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Alembic migrations under ``migrations/`` create these; a test checks that the
migrated schema and this metadata agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from roost.domain.metrics import METRICS


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere, returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

apps = Table(
    "apps",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("version", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # seed 000: the product whose registrations are this (bare) app's instances
    Column("product", String(128), nullable=True, unique=True),
)

app_versions = Table(
    "app_versions",
    metadata,
    Column("app_pk", Integer, ForeignKey("apps.pk", ondelete="CASCADE"), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Registry-wide settings that the API changes (default_app, ...), one row per name.
registry_settings = Table(
    "registry_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

instances = Table(
    "instances",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(63), nullable=False, unique=True),
    Column("app_pk", Integer, ForeignKey("apps.pk"), nullable=False),
    Column("version", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("previous_state", String(16), nullable=True),
    Column("error", Text, nullable=True),
    Column("health", String(16), nullable=False),
    Column("health_error", Text, nullable=True),
    Column("owner", String(64), nullable=True),
    Column("config", JSON, nullable=False),
    # Tags twice: this sorted list is what reads return (no second query per page);
    # instance_tags indexes them for filtering. Both change in the same transaction.
    Column("tags", JSON, nullable=False),
    Column("ports", JSON, nullable=False, server_default="{}"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_active_at", UTCDateTime, nullable=True),
    Column("last_health_check", UTCDateTime, nullable=True),
    UniqueConstraint("app_pk", "ordinal"),
    Index(None, "app_pk", "version"),
    Index(None, "state"),
)

instance_tags = Table(
    "instance_tags",
    metadata,
    Column(
        "instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag", String(64), primary_key=True),
    Index(None, "tag", "instance_pk"),
)

# Every allocated port: the unique (host, port) is what keeps two instances off one port.
ports = Table(
    "ports",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("port", Integer, primary_key=True),
    Column("instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), nullable=False),
    Column("name", String(32), nullable=False),
    Index(None, "instance_pk"),
)

events = Table(
    "events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("token", String(32), nullable=True),  # the id of the token the actor used
    Column("action", String(64), nullable=False),
    Column("instance_id", String(63), nullable=True, index=True),
    Column("app", String(63), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("details", JSON, nullable=False),
)

usage = Table(
    "usage",
    metadata,
    Column(
        "instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("feature_id", String(128), primary_key=True),
    Column("consumed", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column(
        "instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("name", String(64), primary_key=True),
    Column("value_encrypted", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The processes the supervisor runs, one row per service of an instance: enough to adopt
# them again (pid and start time identify a process) after roost serve restarts.
service_processes = Table(
    "service_processes",
    metadata,
    Column(
        "instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("service", String(63), primary_key=True),
    Column("pid", Integer, nullable=True),
    Column("started_at", Float, nullable=True),
    Column("status", String(16), nullable=False),
    Column("restarts", Integer, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

instance_keys = Table(
    "instance_keys",
    metadata,
    Column(
        "instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("public_pem", Text, nullable=False),
    Column("private_encrypted", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Who may reach a server that checks tokens, and how (roost.domain.access).
users = Table(
    "users",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("admin", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Only a hash of each token's secret is kept; the token is shown once, when it is made.
tokens = Table(
    "tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("user_pk", Integer, ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=True),
    Column("role", String(16), nullable=False),
    Column("instances", JSON, nullable=True),  # the scope: instance ids, app names
    Column("apps", JSON, nullable=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# What an instance's owner shared, with whom: the owner itself is instances.owner.
grants = Table(
    "grants",
    metadata,
    Column(
        "instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column("user_pk", Integer, ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "user_pk"),
)

# Each instance's metric samples (roost.domain.metrics): raw ones (step 0) every sampler
# interval, merged into buckets of ``step`` seconds as they age, dropped after retention.
metric_samples = Table(
    "metric_samples",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("instance_pk", Integer, ForeignKey("instances.pk", ondelete="CASCADE"), nullable=False),
    Column("t", Float, nullable=False),  # unix time
    Column("span", Float, nullable=False),  # seconds the sample covers
    Column("step", Integer, nullable=False),  # 0: as sampled; else the bucket merged into
    *(Column(name, Float, nullable=True) for name in METRICS),
    Column("scraped", JSON, nullable=True),  # the services' own metrics, "service:name"
    Index(None, "instance_pk", "t"),
    Index(None, "step", "t"),
)

# Webhooks (roost.domain.webhooks): where alerts are POSTed, and each delivery's fate.
webhooks = Table(
    "webhooks",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(32), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=True),  # None: every alert
    Column("instances", JSON, nullable=True),
    Column("apps", JSON, nullable=True),
    Column("secret_encrypted", Text, nullable=True),  # sealed with the secret key
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(32), nullable=False, unique=True),
    Column("webhook_pk", Integer, ForeignKey("webhooks.pk", ondelete="CASCADE"), nullable=False),
    Column("event", String(64), nullable=False),
    Column("instance_id", String(200), nullable=True),
    Column("body", Text, nullable=False),  # the JSON POSTed, the same at every attempt
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "webhook_pk", "pk"),
    Index(None, "status"),
)

# Backups of instances (roost.domain.backups). ``instance_id`` is kept as text: a
# pre-delete backup outlives its instance (``instance_pk`` is then NULL).
backups = Table(
    "backups",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(200), nullable=False),
    Column("instance_pk", Integer, ForeignKey("instances.pk", ondelete="SET NULL"), nullable=True),
    Column("name", String(64), nullable=False),
    Column("app", String(63), nullable=False),
    Column("kind", String(16), nullable=False),  # manual, scheduled, pre-restore, ...
    Column("target", String(16), nullable=False),  # archive
    Column("status", String(16), nullable=False),  # running, completed, failed
    Column("error", Text, nullable=True),
    Column("note", Text, nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("location", Text, nullable=True),  # its copy off the host (s3://...), if any
    UniqueConstraint("instance_id", "name"),
    Index(None, "instance_pk"),
)
