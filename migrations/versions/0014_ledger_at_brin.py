"""ledger_entry.at: a BRIN index, for the ageing report on a past date (PostgreSQL only)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:00:00

The ageing report on a past date D is read backwards: today's allocations less the line entries
of drawings after the end of D (creditlines.ledger.ageing), so it must find the entries since a
moment without reading the ledger. The ledger is append-only (its trigger refuses updates and
deletes), so its rows lie on disk in the order of ``at``: a BRIN index (one summary per 128
pages, tens of kilobytes for millions of entries) names the pages to read. It costs a drawing
nothing to speak of: an entry landing in the not yet summarised last range does not touch it;
``autosummarize`` has autovacuum summarise each range once it is full. Unordered rows (an import
with old dates) only make it read more pages, never give another answer. SQLite has no BRIN and
gets nothing (its books are small; a B-tree would cost every entry an insert).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_ledger_entry_at ON ledger_entry USING brin (at) WITH (autosummarize = on)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_ledger_entry_at")
