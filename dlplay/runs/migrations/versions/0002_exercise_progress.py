"""Exercises: each workspace's code and progress per exercise (dlplay.exercises.progress).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercise_progress",
        sa.Column("workspace", sa.String(64), primary_key=True),
        sa.Column("exercise", sa.String(64), primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),  # time spent on it, from first open to pass
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exercise_progress")
