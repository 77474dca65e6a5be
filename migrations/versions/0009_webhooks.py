"""webhooks: round-robin turns, coarse delivery outcomes, rotated and encrypted secrets (SPEC §23)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:20:00

* ``webhook.turn``: raised at each claim; the sender claims endpoints with something to send
  lowest turn first (round robin).
* ``webhook.secret`` widened to hold a Fernet token; ``previous_secret`` and
  ``previous_secret_until``: the secret before a rotation still signs for 24 h.
* ``webhook_attempt.result``: the coarse outcome of an attempt. Rows written before keep their
  free-text ``error``, which the API no longer shows (it derives a coarse outcome from them).

The app role already may UPDATE ``webhook`` and INSERT ``webhook_attempt`` (0004, 0005).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.add_column("webhook", sa.Column("turn", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("webhook", sa.Column("previous_secret", sa.String(length=500), nullable=True))
    op.add_column("webhook", sa.Column("previous_secret_until", sa.DateTime(), nullable=True))
    if pg:  # SQLite does not enforce a VARCHAR's length
        op.alter_column("webhook", "secret", type_=sa.String(length=500), existing_nullable=False)
    op.add_column("webhook_attempt", sa.Column("result", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_attempt", "result")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("webhook", "secret", type_=sa.String(length=100), existing_nullable=False)
    op.drop_column("webhook", "previous_secret_until")
    op.drop_column("webhook", "previous_secret")
    op.drop_column("webhook", "turn")
