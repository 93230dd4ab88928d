"""Payouts, payout batches, the organizations' payout settings, order references and
cancellation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payout_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("payouts_count", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payout_batches_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_payout_batches_message_id")),
    )
    with op.batch_alter_table("payout_batches") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payout_batches_organization_id_livemode_created_at_id"),
            ["organization_id", "livemode", "created_at", "id"],
            unique=False,
        )
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("account_holder_name", sa.String(length=140), nullable=True),
        sa.Column("iban_encrypted", sa.Text(), nullable=True),
        sa.Column("iban_masked", sa.String(length=64), nullable=True),
        sa.Column("batch_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["payout_batches.id"], name=op.f("fk_payouts_batch_id_payout_batches")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payouts_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payouts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payouts_order_id")),
    )
    with op.batch_alter_table("payouts") as batch_op:
        batch_op.create_index(batch_op.f("ix_payouts_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payouts_organization_id_livemode_created_at_id"),
            ["organization_id", "livemode", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_payouts_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(sa.Column("payout_method", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("stripe_secret_key_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("stripe_secret_key_hint", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("payout_debtor_name", sa.String(length=140), nullable=True))
        batch_op.add_column(sa.Column("payout_debtor_iban_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("payout_debtor_iban_masked", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("payout_debtor_bic", sa.String(length=11), nullable=True))
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("canceled_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("canceled_at")
        batch_op.drop_column("payment_reference")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("payout_debtor_bic")
        batch_op.drop_column("payout_debtor_iban_masked")
        batch_op.drop_column("payout_debtor_iban_encrypted")
        batch_op.drop_column("payout_debtor_name")
        batch_op.drop_column("stripe_secret_key_hint")
        batch_op.drop_column("stripe_secret_key_encrypted")
        batch_op.drop_column("payout_method")
    op.drop_table("payouts")
    op.drop_table("payout_batches")
