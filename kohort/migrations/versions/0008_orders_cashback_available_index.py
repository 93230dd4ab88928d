"""A partial index on the orders waiting for a payout (the payouts lane's claim).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_orders_cashback_available",
        "orders",
        ["updated_at", "id"],
        postgresql_where=sa.text("status = 'CASHBACK_AVAILABLE'"),
        sqlite_where=sa.text("status = 'CASHBACK_AVAILABLE'"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_cashback_available", table_name="orders")
