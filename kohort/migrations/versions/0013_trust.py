"""Trust and spend control (issue 16): each order's risk reasons, the fields the shop may send
for them (customer_ip, device and payment fingerprints) and its review; each mode's risk
policy, review deadline and monthly cashback budget (payment_group_settings); the cashback
that became available per month (cashback_budgets).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
DEFAULT_POLICY = {"LOW": "allow", "MEDIUM": "allow", "HIGH": "review", "HIGHEST": "review"}
_REVIEW_PENDING = sa.text("review_status = 'PENDING'")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("risk_reasons", JSON, server_default=sa.text("'[]'"), nullable=False)
        )
        batch.add_column(sa.Column("customer_ip", sa.String(length=45), nullable=True))
        batch.add_column(sa.Column("device_fingerprint", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("payment_fingerprint", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("review_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("review_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=32), nullable=True))
        batch.alter_column("payment_group_id", existing_type=sa.String(length=32), nullable=True)
        batch.alter_column(
            "payment_group_share_id", existing_type=sa.String(length=32), nullable=True
        )
    op.create_index(
        "ix_orders_organization_id_livemode_customer_ip_created_at",
        "orders",
        ["organization_id", "livemode", "customer_ip", "created_at"],
    )
    op.create_index(
        "ix_orders_review_pending",
        "orders",
        ["review_due_at", "id"],
        postgresql_where=_REVIEW_PENDING,
        sqlite_where=_REVIEW_PENDING,
    )
    with op.batch_alter_table("payment_group_settings") as batch:
        batch.add_column(sa.Column("risk_policy", JSON, nullable=True))
        batch.add_column(sa.Column("review_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("review_default", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("monthly_cashback_budget", sa.BigInteger(), nullable=True))
    settings = sa.table(
        "payment_group_settings",
        sa.column("risk_policy", JSON),
        sa.column("review_days", sa.Integer()),
        sa.column("review_default", sa.String()),
    )
    op.execute(
        settings.update().values(
            risk_policy=DEFAULT_POLICY,
            review_days=14,
            review_default="release",
        )
    )
    with op.batch_alter_table("payment_group_settings") as batch:
        batch.alter_column("risk_policy", existing_type=JSON, nullable=False)
        batch.alter_column("review_days", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("review_default", existing_type=sa.String(length=16), nullable=False)
    op.create_table(
        "cashback_budgets",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("reached_80_at", sa.DateTime(), nullable=True),
        sa.Column("reached_100_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_cashback_budgets_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "livemode", "month", name=op.f("pk_cashback_budgets")
        ),
    )


def downgrade() -> None:
    op.drop_table("cashback_budgets")
    with op.batch_alter_table("payment_group_settings") as batch:
        for column in ("monthly_cashback_budget", "review_default", "review_days", "risk_policy"):
            batch.drop_column(column)
    op.drop_index("ix_orders_review_pending", table_name="orders")
    op.drop_index("ix_orders_organization_id_livemode_customer_ip_created_at", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("payment_group_id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column(
            "payment_group_share_id", existing_type=sa.String(length=32), nullable=False
        )
        for column in (
            "reviewed_by",
            "reviewed_at",
            "review_due_at",
            "review_status",
            "payment_fingerprint",
            "device_fingerprint",
            "customer_ip",
            "risk_reasons",
        ):
            batch.drop_column(column)
