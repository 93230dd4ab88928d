"""KohortPay drop-in: API versions (organization, key, webhook endpoint), the share-code
prefix, refunds, checkout sessions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "2026-12-01"


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(
            sa.Column("api_version", sa.String(length=32), nullable=False, server_default=CURRENT)
        )
        batch_op.add_column(
            sa.Column("code_prefix", sa.String(length=10), nullable=False, server_default="KHT")
        )
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("api_version", sa.String(length=32), nullable=True))
    with op.batch_alter_table("webhook_endpoints") as batch_op:
        batch_op.add_column(sa.Column("api_version", sa.String(length=32), nullable=True))
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(
            sa.Column("amount_refunded", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_refunds_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_refunds_organization_id_livemode_created_at_id"),
            ["organization_id", "livemode", "created_at", "id"],
            unique=False,
        )
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column(
            "line_items",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("success_url", sa.String(length=2048), nullable=True),
        sa.Column("cancel_url", sa.String(length=2048), nullable=True),
        sa.Column("client_reference_id", sa.String(length=255), nullable=True),
        sa.Column("payment_client_reference_id", sa.String(length=255), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_checkout_sessions_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_checkout_sessions_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_sessions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_checkout_sessions_order_id")),
    )
    with op.batch_alter_table("checkout_sessions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkout_sessions_organization_id_livemode_created_at_id"),
            ["organization_id", "livemode", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("checkout_sessions")
    op.drop_table("refunds")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("amount_refunded")
    with op.batch_alter_table("webhook_endpoints") as batch_op:
        batch_op.drop_column("api_version")
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("api_version")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("code_prefix")
        batch_op.drop_column("api_version")
