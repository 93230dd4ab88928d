"""Events remember whether the worker has fanned them out to webhooks and e-mails.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(), nullable=True))
    # Events that existed before this revision are history: never send them now.
    op.execute("UPDATE events SET dispatched_at = created_at")
    op.create_index(
        "ix_events_undispatched",
        "events",
        ["seq"],
        postgresql_where=sa.text("dispatched_at IS NULL"),
        sqlite_where=sa.text("dispatched_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_events_undispatched", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("dispatched_at")
