"""group commit: creditlines_draw_many (PostgreSQL only)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:30:00

* ``creditlines_draw_many`` (creditlines/db/sql/creditlines_draw_many_0013.pg.sql): the drawings
  one worker received while its previous call was in flight, posted in one transaction (one
  commit): the resellers named locked first, in (distributor, id) order (those another
  transaction holds skipped, their drawings handed back to be posted again waiting for the lock),
  then each drawing by its own ``creditlines_draw`` call with its own outcome (creditlines.db.batch, docs/DECISIONS.md
  "Group commit"). Nothing changes in the tables, nor on SQLite.
"""

from __future__ import annotations

from alembic import op

from creditlines.db import sqlfiles

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SIGNATURE = (
    "creditlines_draw_many(text[], text[], text[], bigint[], text[], text[], timestamp[], date[], text[], date[],"
    " date[], boolean)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sqlfiles.load("creditlines_draw_many_0013"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
