"""console_sign_out: a console session ended by its sign-out stays ended (even a copied cookie)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 06:45:00

On PostgreSQL the app role gets its privileges on the new table from the default privileges of
0004 (the owner creates it); rows are deleted once the session they name has expired.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sign_out",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_console_sign_out")),
    )


def downgrade() -> None:
    op.drop_table("console_sign_out")
