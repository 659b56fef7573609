"""The run store as it was when migrations began (dlplay 0.9, December 2026): runs and their
metric rows. A store made before then has these tables already and is stamped at this revision.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(64), nullable=False, index=True),
        sa.Column("page", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("dataset", sa.String(300), nullable=False),
        sa.Column("data_id", sa.Text, nullable=False),
        sa.Column("brief", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("headline", sa.String(100), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("has_model", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float),
        sa.Column("finished", sa.Float),
        sa.Column("heartbeat", sa.Float),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("row", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("metrics")
    op.drop_table("runs")
