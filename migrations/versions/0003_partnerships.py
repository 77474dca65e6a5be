"""partnerships: where a vendor may act (distributor admits vendor), with their history

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:10:00

Every (distributor, vendor) pair that already has a programme gets an active partnership
(actor ``migration``), so an upgraded database keeps working: its vendors stay admitted where
they already run programmes, and nowhere else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partnership",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("max_line_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'ended')", name=op.f("ck_partnership_status")),
        sa.CheckConstraint(
            "max_line_limit_minor IS NULL OR max_line_limit_minor >= 0", name=op.f("ck_partnership_max_line_limit")
        ),
        sa.CheckConstraint("(status = 'ended') = (ended_at IS NOT NULL)", name=op.f("ck_partnership_ended_at")),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_partnership_distributor_id_distributor")
        ),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name=op.f("fk_partnership_vendor_id_vendor")),
        sa.PrimaryKeyConstraint("distributor_id", "vendor_id", name=op.f("pk_partnership")),
    )
    op.create_table(
        "partnership_entry",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status_after", sa.String(length=16), nullable=False),
        sa.Column("max_line_limit_after_minor", sa.BigInteger(), nullable=True),
        sa.Column("requires_approval_after", sa.Boolean(), nullable=False),
        sa.Column("note_after", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["distributor_id", "vendor_id"],
            ["partnership.distributor_id", "partnership.vendor_id"],
            name=op.f("fk_partnership_entry_distributor_id_partnership"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "vendor_id", "seq", name=op.f("pk_partnership_entry")),
    )
    _append_only("partnership_entry")
    # Vendors already running programmes stay admitted where they run them.
    op.execute(
        """
        INSERT INTO partnership (distributor_id, vendor_id, status, max_line_limit_minor, requires_approval,
                                 note, created_at, updated_at, ended_at, seq)
        SELECT distributor_id, vendor_id, 'active', NULL, false, 'created by migration 0003 for existing programmes',
               MIN(created_at), MIN(created_at), NULL, 1
          FROM programme GROUP BY distributor_id, vendor_id
        """
    )
    op.execute(
        """
        INSERT INTO partnership_entry (distributor_id, vendor_id, seq, at, actor, kind, status_after,
                                       max_line_limit_after_minor, requires_approval_after, note_after)
        SELECT distributor_id, vendor_id, 1, created_at, 'migration', 'admitted', 'active', NULL, false, note
          FROM partnership
        """
    )


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sqlfiles.load("table_append_only_0003").format(table=table))
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS partnership_entry_append_only ON partnership_entry")
        op.execute("DROP FUNCTION IF EXISTS partnership_entry_append_only()")
    op.drop_table("partnership_entry")
    op.drop_table("partnership")
