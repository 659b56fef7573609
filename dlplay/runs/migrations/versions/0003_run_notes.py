"""Notes and tags a learner writes on a run (the Runs page searches them; a report quotes them).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite alters a table by copying it: batch mode
        batch.add_column(sa.Column("note", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("tags", sa.Text, nullable=False, server_default="[]"))  # JSON list


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("tags")
        batch.drop_column("note")
