"""creditlines_draw: a drawing posted in one statement on PostgreSQL; unused ledger index dropped

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:20:00

The function is ``creditlines/db/sql/creditlines_draw_0002.pg.sql`` (``creditlines.db.sqlfiles``).
The same rules as ``creditlines.ledger.drawings.draw_in_python``, which SQLite runs (the
property tests check both against their own reference, the ``Model`` class of
tests/ledger/test_properties.py): lock the reseller, answer a replay of the reference, refuse
a terminated or on-hold reseller, take the lines as they stand on the distributor's local date (an active line past its end is expired; under
``transfer_to_base`` what is drawn on it weighs on the base line), allocate down the
waterfall (base first, then programme lines by earliest end, then oldest grant; vendor-only
lines for that vendor's orders), and write the drawing, its allocations, the line balances,
the ledger entries and the reseller's sequence. The reseller's row lock is held for the
function's few statements only, not for round trips to the application.
"""

from __future__ import annotations

from alembic import op

from creditlines.db import sqlfiles

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No query reads ledger entries by line (verify and the as-of fold read a reseller's entries
    # by its key); every entry paid for this index on insert.
    op.drop_index("ix_ledger_entry_line", table_name="ledger_entry")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sqlfiles.load("creditlines_draw_0002"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS creditlines_draw(text, text, text, bigint, text, text, timestamp, date)")
    op.create_index("ix_ledger_entry_line", "ledger_entry", ["distributor_id", "line_id"])
