"""the product an app is the registrations of (seed 000)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("product", sa.String(length=128), nullable=True))
        batch.create_unique_constraint(op.f("uq_apps_product"), ["product"])
    # until now a product was a bare app named after it whose instances hold key pairs
    op.execute(
        "UPDATE apps SET product = name WHERE pk IN ("
        " SELECT DISTINCT instances.app_pk FROM instances"
        " JOIN instance_keys ON instance_keys.instance_pk = instances.pk)"
    )


def downgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.drop_constraint(op.f("uq_apps_product"), type_="unique")
        batch.drop_column("product")
