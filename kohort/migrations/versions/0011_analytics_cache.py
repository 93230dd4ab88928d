"""The analytics cache: one row of figures per local day (analytics_days), the indexes that
find what changed since and the groups ended on given days, and when a group expired
(payment_groups.expired_at).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
FIGURES = (
    "revenue",
    "joins",
    "openings",
    "fees",
    "newcomers",
    "opened",
    "joined",
    "opened_completed",
    "completed",
    "expired",
    "members",
    "earned",
)


def upgrade() -> None:
    with op.batch_alter_table("payment_groups") as batch:
        batch.add_column(sa.Column("expired_at", sa.DateTime(), nullable=True))
        batch.create_index(
            "ix_payment_groups_organization_id_livemode_updated_at",
            ["organization_id", "livemode", "updated_at"],
        )
        for column in ("completed_at", "expired_at"):
            batch.create_index(
                f"ix_payment_groups_organization_id_livemode_{column}",
                ["organization_id", "livemode", column],
            )
    # Until now the analytics took the earlier of a group's last update and its expiry.
    op.execute(
        "UPDATE payment_groups SET expired_at = CASE WHEN updated_at < expires_at "
        "THEN updated_at ELSE expires_at END WHERE status = 'EXPIRED'"
    )
    with op.batch_alter_table("orders") as batch:
        batch.create_index(
            "ix_orders_organization_id_livemode_updated_at",
            ["organization_id", "livemode", "updated_at"],
        )
        batch.create_index(
            "ix_orders_cashback_pending",
            ["organization_id", "livemode", "status", "amount_cashback"],
            postgresql_where=sa.text("status = 'CASHBACK_AVAILABLE'"),
            sqlite_where=sa.text("status = 'CASHBACK_AVAILABLE'"),
        )
    op.create_table(
        "analytics_days",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in FIGURES),
        sa.Column("top", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_analytics_days_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "livemode", "timezone", "day", name=op.f("pk_analytics_days")
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_days")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_organization_id_livemode_updated_at")
        batch.drop_index("ix_orders_cashback_pending")
    with op.batch_alter_table("payment_groups") as batch:
        batch.drop_index("ix_payment_groups_organization_id_livemode_updated_at")
        batch.drop_index("ix_payment_groups_organization_id_livemode_completed_at")
        batch.drop_index("ix_payment_groups_organization_id_livemode_expired_at")
        batch.drop_column("expired_at")
