"""The shop's brand: what shoppers see of it on the share page, the widget and the e-mails
(organizations.brand_*, share_messages), the images it uploads (brand_assets), and how often
share surfaces are shown and share actions tapped (share_counts); the thank-you widget's
secrets (widget_secrets, one per organization and mode, made for the existing ones here).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:00:00.000000
"""

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("brand_display_name", sa.String(length=80), nullable=True))
        for name in ("logo", "social_image"):
            batch.add_column(sa.Column(f"brand_{name}_url", sa.String(length=2048), nullable=True))
            batch.add_column(
                sa.Column(f"brand_{name}_asset_id", sa.String(length=32), nullable=True)
            )
        batch.add_column(sa.Column("brand_color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("share_messages", JSON, nullable=True))
    op.create_table(
        "brand_assets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_brand_assets_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand_assets")),
    )
    op.create_index(
        "ix_brand_assets_organization_id_kind_created_at",
        "brand_assets",
        ["organization_id", "kind", "created_at"],
    )

    op.create_table(
        "share_counts",
        sa.Column("payment_group_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_share_counts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_group_id"],
            ["payment_groups.id"],
            name=op.f("fk_share_counts_payment_group_id_payment_groups"),
        ),
        sa.PrimaryKeyConstraint("payment_group_id", "day", "channel", name=op.f("pk_share_counts")),
    )
    op.create_index(
        "ix_share_counts_organization_id_livemode_day",
        "share_counts",
        ["organization_id", "livemode", "day"],
    )

    widget_secrets = op.create_table(
        "widget_secrets",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("previous_secret", sa.String(length=128), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_widget_secrets_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "livemode", name=op.f("pk_widget_secrets")),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    organizations = op.get_bind().execute(sa.text("SELECT id FROM organizations")).scalars()
    rows = [
        {
            "organization_id": organization_id,
            "livemode": livemode,
            "secret": "wgs_"
            + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="),
            "previous_secret": None,
            "previous_secret_expires_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for organization_id in list(organizations)
        for livemode in (False, True)
    ]
    if rows:
        op.bulk_insert(widget_secrets, rows)


def downgrade() -> None:
    op.drop_table("widget_secrets")
    op.drop_index("ix_share_counts_organization_id_livemode_day", table_name="share_counts")
    op.drop_table("share_counts")
    op.drop_index("ix_brand_assets_organization_id_kind_created_at", table_name="brand_assets")
    op.drop_table("brand_assets")
    with op.batch_alter_table("organizations") as batch:
        for column in (
            "share_messages",
            "brand_color",
            "brand_social_image_asset_id",
            "brand_social_image_url",
            "brand_logo_asset_id",
            "brand_logo_url",
            "brand_display_name",
        ):
            batch.drop_column(column)
