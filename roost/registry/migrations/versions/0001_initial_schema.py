"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 07:48:51.150600
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "apps",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_apps")),
        sa.UniqueConstraint("name", name=op.f("uq_apps_name")),
    )
    op.create_table(
        "events",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("instance_id", sa.String(length=63), nullable=True),
        sa.Column("app", sa.String(length=63), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_instance_id"), ["instance_id"], unique=False)

    op.create_table(
        "instances",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.String(length=63), nullable=False),
        sa.Column("app_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("previous_state", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("health_error", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_active_at", sa.DateTime(), nullable=True),
        sa.Column("last_health_check", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["app_pk"], ["apps.pk"], name=op.f("fk_instances_app_pk_apps")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_instances")),
        sa.UniqueConstraint("app_pk", "ordinal", name=op.f("uq_instances_app_pk_ordinal")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_instances_instance_id")),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instances_app_pk_version"), ["app_pk", "version"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_instances_state"), ["state"], unique=False)

    op.create_table(
        "instance_keys",
        sa.Column("instance_pk", sa.Integer(), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("private_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_pk"],
            ["instances.pk"],
            name=op.f("fk_instance_keys_instance_pk_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_pk", name=op.f("pk_instance_keys")),
    )
    op.create_table(
        "instance_tags",
        sa.Column("instance_pk", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_pk"],
            ["instances.pk"],
            name=op.f("fk_instance_tags_instance_pk_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_pk", "tag", name=op.f("pk_instance_tags")),
    )
    with op.batch_alter_table("instance_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instance_tags_tag_instance_pk"), ["tag", "instance_pk"], unique=False
        )

    op.create_table(
        "usage",
        sa.Column("instance_pk", sa.Integer(), nullable=False),
        sa.Column("feature_id", sa.String(length=128), nullable=False),
        sa.Column("consumed", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_pk"],
            ["instances.pk"],
            name=op.f("fk_usage_instance_pk_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_pk", "feature_id", name=op.f("pk_usage")),
    )


def downgrade() -> None:

    op.drop_table("usage")
    with op.batch_alter_table("instance_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_tags_tag_instance_pk"))

    op.drop_table("instance_tags")
    op.drop_table("instance_keys")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_state"))
        batch_op.drop_index(batch_op.f("ix_instances_app_pk_version"))

    op.drop_table("instances")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_instance_id"))
        batch_op.drop_index(batch_op.f("ix_events_at"))

    op.drop_table("events")
    op.drop_table("apps")
