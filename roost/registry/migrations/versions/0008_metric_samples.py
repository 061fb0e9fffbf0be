"""each instance's metric samples

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

METRICS = (
    "up",
    "cpu_percent",
    "memory_bytes",
    "processes",
    "uptime_s",
    "disk_bytes",
    "cache_keys",
    "cache_bytes",
    "probe_latency_ms",
    "restarts",
    "cache_ops",
    "health_checks",
    "health_failures",
)


def upgrade() -> None:
    op.create_table(
        "metric_samples",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_pk", sa.Integer(), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("span", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in METRICS),
        sa.Column("scraped", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_pk"],
            ["instances.pk"],
            name=op.f("fk_metric_samples_instance_pk_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_metric_samples")),
    )
    op.create_index(op.f("ix_metric_samples_instance_pk_t"), "metric_samples", ["instance_pk", "t"])
    op.create_index(op.f("ix_metric_samples_step_t"), "metric_samples", ["step", "t"])


def downgrade() -> None:
    op.drop_index(op.f("ix_metric_samples_step_t"), table_name="metric_samples")
    op.drop_index(op.f("ix_metric_samples_instance_pk_t"), table_name="metric_samples")
    op.drop_table("metric_samples")
