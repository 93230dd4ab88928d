"""Group settings, payment groups and orders.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:30:18.560274
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "payment_group_settings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("discount_type", sa.String(length=16), nullable=False),
        sa.Column("discount_levels", _JSON, nullable=False),
        sa.Column("max_participants", sa.Integer(), nullable=False),
        sa.Column("minutes_duration", sa.Integer(), nullable=False),
        sa.Column("min_purchase_value", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payment_group_settings_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_group_settings")),
        sa.UniqueConstraint(
            "organization_id",
            "livemode",
            name=op.f("uq_payment_group_settings_organization_id_livemode"),
        ),
    )
    op.create_table(
        "payment_groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("share_id", sa.String(length=32), nullable=False),
        sa.Column("share_key", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("creator_email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("participants_count", sa.Integer(), nullable=False),
        sa.Column("max_participants", sa.Integer(), nullable=False),
        sa.Column("settings", _JSON, nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("mid_expire_at", sa.DateTime(), nullable=True),
        sa.Column("j_minus2_expire_at", sa.DateTime(), nullable=True),
        sa.Column("j_plus3_start_at", sa.DateTime(), nullable=True),
        sa.Column("reminder_email_sent", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.Column("canceled_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_payment_groups_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payment_groups_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_groups")),
        sa.UniqueConstraint("share_key", name=op.f("uq_payment_groups_share_key")),
    )
    with op.batch_alter_table("payment_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_groups_organization_id_livemode_created_at_id"),
            ["organization_id", "livemode", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payment_groups_status_expires_at"),
            ["status", "expires_at"],
            unique=False,
        )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_cashback", sa.BigInteger(), nullable=True),
        sa.Column("application_fee_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("customer_email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("customer_first_name", sa.String(length=255), nullable=True),
        sa.Column("customer_last_name", sa.String(length=255), nullable=True),
        sa.Column("customer_phone_number", sa.String(length=32), nullable=True),
        sa.Column("payment_group_id", sa.String(length=32), nullable=False),
        sa.Column("payment_group_share_id", sa.String(length=32), nullable=False),
        sa.Column("client_reference_id", sa.String(length=255), nullable=True),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("join_error", _JSON, nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_orders_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_group_id"],
            ["payment_groups.id"],
            name=op.f("fk_orders_payment_group_id_payment_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "organization_id",
            "livemode",
            "client_reference_id",
            name=op.f("uq_orders_organization_id_livemode_client_reference_id"),
        ),
        sa.UniqueConstraint(
            "payment_group_id", "email_key", name=op.f("uq_orders_payment_group_id_email_key")
        ),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_livemode_created_at_id"),
            ["organization_id", "livemode", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_livemode_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_orders_customer_id"))

    op.drop_table("orders")
    with op.batch_alter_table("payment_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_groups_status_expires_at"))
        batch_op.drop_index(batch_op.f("ix_payment_groups_organization_id_livemode_created_at_id"))

    op.drop_table("payment_groups")
    op.drop_table("payment_group_settings")
