"""payment terms, due dates, the overdue stop (SPEC §18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:00:00

* ``distributor``: ``payment_terms_days`` (0–365, default 30), ``overdue_stop_after_days`` and
  ``overdue_stop_min_minor`` (both null: no stop).
* ``reseller``: ``payment_terms_days`` (the override, null: the distributor's) and
  ``overdue_stop_since`` (a stop announced and not yet cleared).
* ``drawing``: ``invoice_date`` and ``due_on`` (Date, not null). Existing drawings get
  ``invoice_date`` = the local date of their posting in the distributor's time zone and
  ``due_on`` = that + the distributor's terms (30 days). The partial index
  ``ix_drawing_open_due`` (open drawings by due date) serves the overdue stop's range sum.
* ``creditlines_draw`` (PostgreSQL) replaced by ``creditlines_draw_0011.pg.sql``: two more
  parameters (the dates), so the old signature is dropped first.

On SQLite the new check constraints are not added to existing tables (SQLite cannot add a
constraint without rebuilding the table); the services check the same ranges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD_SIGNATURE = "creditlines_draw(text, text, text, bigint, text, text, timestamp, date, text)"  # 0010
NEW_SIGNATURE = "creditlines_draw(text, text, text, bigint, text, text, timestamp, date, text, date, date)"


def _backfill_sqlite() -> None:
    """SQLite has no time zones: the local dates computed here, distributor by distributor."""
    bind = op.get_bind()
    for distributor_id, timezone in bind.execute(sa.text("SELECT id, timezone FROM distributor")).all():
        zone = ZoneInfo(timezone)
        rows = bind.execute(
            sa.text("SELECT reseller_id, reference, created_at FROM drawing WHERE distributor_id = :d"),
            {"d": distributor_id},
        ).all()
        updates = []
        for reseller_id, reference, created_at in rows:
            at = created_at if isinstance(created_at, datetime) else datetime.fromisoformat(str(created_at))
            day = at.replace(tzinfo=UTC).astimezone(zone).date()
            updates.append(
                {"d": distributor_id, "r": reseller_id, "ref": reference, "i": day, "due": day + timedelta(days=30)}
            )
        if updates:
            bind.execute(
                sa.text(
                    "UPDATE drawing SET invoice_date = :i, due_on = :due"
                    " WHERE distributor_id = :d AND reseller_id = :r AND reference = :ref"
                ),
                updates,
            )


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.add_column("distributor", sa.Column("payment_terms_days", sa.Integer(), nullable=False, server_default="30"))
    op.add_column("distributor", sa.Column("overdue_stop_after_days", sa.Integer(), nullable=True))
    op.add_column("distributor", sa.Column("overdue_stop_min_minor", sa.BigInteger(), nullable=True))
    op.add_column("reseller", sa.Column("payment_terms_days", sa.Integer(), nullable=True))
    op.add_column("reseller", sa.Column("overdue_stop_since", sa.DateTime(), nullable=True))
    if pg:
        op.add_column("drawing", sa.Column("invoice_date", sa.Date(), nullable=True))
        op.add_column("drawing", sa.Column("due_on", sa.Date(), nullable=True))
        op.execute(
            "UPDATE drawing SET invoice_date = (drawing.created_at AT TIME ZONE 'UTC' AT TIME ZONE d.timezone)::date,"
            " due_on = (drawing.created_at AT TIME ZONE 'UTC' AT TIME ZONE d.timezone)::date + d.payment_terms_days"
            " FROM distributor d WHERE d.id = drawing.distributor_id"
        )
        op.alter_column("drawing", "invoice_date", nullable=False)
        op.alter_column("drawing", "due_on", nullable=False)
        op.create_check_constraint(
            "ck_distributor_payment_terms_days_range", "distributor", "payment_terms_days BETWEEN 0 AND 365"
        )
        op.create_check_constraint(
            "ck_distributor_overdue_stop_shape",
            "distributor",
            "(overdue_stop_after_days IS NULL AND overdue_stop_min_minor IS NULL) OR "
            "(overdue_stop_after_days >= 0 AND overdue_stop_min_minor >= 0)",
        )
        op.create_check_constraint(
            "ck_reseller_payment_terms_days_range",
            "reseller",
            "payment_terms_days IS NULL OR payment_terms_days BETWEEN 0 AND 365",
        )
        op.create_check_constraint("ck_drawing_due_after_invoice", "drawing", "due_on >= invoice_date")
    else:  # SQLite adds a NOT NULL column only with a default; every insert gives both dates
        op.add_column("drawing", sa.Column("invoice_date", sa.Date(), nullable=False, server_default="1970-01-01"))
        op.add_column("drawing", sa.Column("due_on", sa.Date(), nullable=False, server_default="1970-01-01"))
        _backfill_sqlite()
    op.create_index(
        "ix_drawing_open_due",
        "drawing",
        ["distributor_id", "reseller_id", "due_on"],
        postgresql_where=sa.text("outstanding_minor > 0"),
        sqlite_where=sa.text("outstanding_minor > 0"),
        postgresql_include=["outstanding_minor"],
    )
    if pg:
        op.execute(f"DROP FUNCTION IF EXISTS {OLD_SIGNATURE}")
        op.execute(sqlfiles.load("creditlines_draw_0011"))


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute(f"DROP FUNCTION IF EXISTS {NEW_SIGNATURE}")
        op.execute(sqlfiles.load("creditlines_draw_0010"))
    op.drop_index("ix_drawing_open_due", table_name="drawing")
    if pg:
        op.drop_constraint("ck_drawing_due_after_invoice", "drawing", type_="check")
        op.drop_constraint("ck_reseller_payment_terms_days_range", "reseller", type_="check")
        op.drop_constraint("ck_distributor_overdue_stop_shape", "distributor", type_="check")
        op.drop_constraint("ck_distributor_payment_terms_days_range", "distributor", type_="check")
    for table, column in (
        ("drawing", "due_on"),
        ("drawing", "invoice_date"),
        ("reseller", "overdue_stop_since"),
        ("reseller", "payment_terms_days"),
        ("distributor", "overdue_stop_min_minor"),
        ("distributor", "overdue_stop_after_days"),
        ("distributor", "payment_terms_days"),
    ):
        op.drop_column(table, column)
