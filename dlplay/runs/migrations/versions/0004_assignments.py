"""Assignments a teacher sets, who joined them, and what each learner's last failed exercise check said.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("code", sa.String(32), primary_key=True),  # what the shared link carries: not guessable
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),  # JSON: pages, presets, hidden controls, exercises, goals
        sa.Column("deadline", sa.Float),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "assignment_members",
        sa.Column("code", sa.String(32), sa.ForeignKey("assignments.code", ondelete="CASCADE"), primary_key=True),
        sa.Column("workspace", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),  # as the teacher knows the learner
        sa.Column("joined", sa.Float, nullable=False),
        sa.Column("handed_in", sa.Float),
        sa.Column("bundle_sha", sa.String(64), nullable=False, server_default=""),
    )
    with op.batch_alter_table("exercise_progress") as batch:
        batch.add_column(sa.Column("last_failure", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("exercise_progress") as batch:
        batch.drop_column("last_failure")
    op.drop_table("assignment_members")
    op.drop_table("assignments")
