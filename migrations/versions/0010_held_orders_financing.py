"""held orders and financed orders (SPEC §16, §17); creditlines_draw holds what it would refuse

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

* ``distributor.hold_days`` (1–90, default 7): how long a held order waits before it expires.
* ``reseller.held_count``: the reseller's held orders, kept under its lock, so a change that frees
  credit knows from the row it already holds whether there is anything to re-check.
* ``drawing``: status ``held``, ``cancelled``, ``expired`` (nothing drawn: outstanding 0, no
  allocation); ``held_at``, ``hold_expires_at``, ``hold_reasons``, ``hold_shortfall_minor``,
  ``hold_released_at``, ``hold_ended_at``; partial indexes on the held ones (per reseller in
  ``held_at`` order, per distributor).
* ``line``: kind ``financing`` with its ``order_reference`` (the one drawing that may use it).
* ``release.kind`` widened to 24 characters (``financier_payment``).
* ``financing``: the financings (idempotent per reseller and reference), their due instant,
  payment and lateness. ``release.kind`` admits ``financier_payment``.
* ``creditlines_draw`` replaced by ``creditlines/db/sql/creditlines_draw_0010.pg.sql`` (one more
  argument, ``on_refusal``; the old signature is dropped).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles, sqlite_schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_SIGNATURE = "creditlines_draw(text, text, text, bigint, text, text, timestamp, date)"
NEW_SIGNATURE = "creditlines_draw(text, text, text, bigint, text, text, timestamp, date, text)"

DRAWING_STATUS = (
    "(status = 'open' AND outstanding_minor > 0) OR (status = 'settled' AND outstanding_minor = 0)"
    " OR (status IN ('held', 'cancelled', 'expired') AND outstanding_minor = 0 AND held_at IS NOT NULL)"
)
OLD_DRAWING_STATUS = "(status = 'open' AND outstanding_minor > 0) OR (status = 'settled' AND outstanding_minor = 0)"
LINE_KIND = "kind IN ('base', 'programme', 'financing')"
LINE_SHAPE = (
    "(kind = 'base' AND vendor_id IS NULL AND valid_until IS NULL AND status = 'active')"
    " OR (kind = 'programme' AND vendor_id IS NOT NULL AND valid_until IS NOT NULL AND on_expiry IS NOT NULL)"
    " OR (kind = 'financing' AND vendor_id IS NULL AND valid_until IS NOT NULL AND on_expiry IS NOT NULL"
    " AND order_reference IS NOT NULL)"
)
OLD_LINE_SHAPE = (
    "(kind = 'base' AND vendor_id IS NULL AND valid_until IS NULL AND status = 'active')"
    " OR (kind = 'programme' AND vendor_id IS NOT NULL AND valid_until IS NOT NULL AND on_expiry IS NOT NULL)"
)
RELEASE_KIND = "kind IN ('payment', 'cancellation', 'credit_note', 'financier_payment')"
OLD_RELEASE_KIND = "kind IN ('payment', 'cancellation', 'credit_note')"

# (table, constraint, old text, new text): the CHECK constraints this revision loosens.
CHECKS = [
    ("drawing", "ck_drawing_status", OLD_DRAWING_STATUS, DRAWING_STATUS),
    ("line", "ck_line_kind", "kind IN ('base', 'programme')", LINE_KIND),
    ("line", "ck_line_kind_shape", OLD_LINE_SHAPE, LINE_SHAPE),
    ("release", "ck_release_kind", OLD_RELEASE_KIND, RELEASE_KIND),
]
# (table, column, type and default, CHECK or None)
COLUMNS = [
    ("distributor", "hold_days", "INTEGER NOT NULL DEFAULT 7", "hold_days BETWEEN 1 AND 90"),
    ("reseller", "held_count", "INTEGER NOT NULL DEFAULT 0", "held_count >= 0"),
    ("drawing", "held_at", "TIMESTAMP", None),
    ("drawing", "hold_expires_at", "TIMESTAMP", None),
    ("drawing", "hold_reasons", "VARCHAR(100)", None),
    ("drawing", "hold_shortfall_minor", "BIGINT", None),
    ("drawing", "hold_released_at", "TIMESTAMP", None),
    ("drawing", "hold_ended_at", "TIMESTAMP", None),
    ("line", "order_reference", "VARCHAR(100)", None),
]
CHECK_NAMES = {"hold_days": "ck_distributor_hold_days_range", "held_count": "ck_reseller_held_count_nonnegative"}


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, column, type_, check in COLUMNS:
        if pg:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {type_}")
            if check:
                op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {CHECK_NAMES[column]} CHECK ({check})")
        else:
            constraint = f" CONSTRAINT {CHECK_NAMES[column]} CHECK ({check})" if check else ""
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {type_}{constraint}")
    if pg:
        op.execute("ALTER TABLE release ALTER COLUMN kind TYPE VARCHAR(24)")
        for table, name, _, new in CHECKS:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({new})")
    else:
        sqlite_schema.replace_checks(
            [(t, f"CONSTRAINT {n} CHECK ({old})", f"CONSTRAINT {n} CHECK ({new})") for t, n, old, new in CHECKS]
            + [("release", "kind VARCHAR(16) NOT NULL", "kind VARCHAR(24) NOT NULL")]
        )
    op.create_index(
        "ix_drawing_held",
        "drawing",
        ["distributor_id", "reseller_id", "held_at", "reference"],
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    )
    op.create_index(
        "ix_drawing_held_by_distributor",
        "drawing",
        ["distributor_id", "held_at"],
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    )
    op.create_table(
        "financing",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("financier", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("order_reference", sa.String(length=100), nullable=False),
        sa.Column("pay_within_hours", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("drawn_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("overdue_at", sa.DateTime(), nullable=True),
        sa.Column("overdue_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_financing_amount_positive")),
        sa.CheckConstraint("pay_within_hours BETWEEN 1 AND 720", name=op.f("ck_financing_pay_within_hours_range")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_financing_distributor_id_reseller"),
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "line_id"],
            ["line.distributor_id", "line.id"],
            name=op.f("fk_financing_distributor_id_line"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "reseller_id", "reference", name=op.f("pk_financing")),
    )
    op.create_index("ix_financing_financier", "financing", ["distributor_id", "financier", "created_at"])
    op.create_index(
        "ix_financing_due",
        "financing",
        ["distributor_id", "due_at"],
        postgresql_where=sa.text("paid_at IS NULL AND overdue_at IS NULL AND due_at IS NOT NULL"),
        sqlite_where=sa.text("paid_at IS NULL AND overdue_at IS NULL AND due_at IS NOT NULL"),
    )
    if pg:
        op.execute(f"DROP FUNCTION IF EXISTS {OLD_SIGNATURE}")
        op.execute(sqlfiles.load("creditlines_draw_0010"))
        # A distributor's settings now change (hold_days): the app role may UPDATE its row (SPEC §23).
        bind = op.get_bind()
        app_role = op.get_context().config.get_main_option("app_role") or "creditlines_app"
        if bind.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": app_role}).first():
            op.execute(f"GRANT UPDATE ON distributor TO {bind.dialect.identifier_preparer.quote_identifier(app_role)}")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute(f"DROP FUNCTION IF EXISTS {NEW_SIGNATURE}")
        op.execute(sqlfiles.load("creditlines_draw_0005"))
    op.drop_index("ix_financing_due", table_name="financing")
    op.drop_index("ix_financing_financier", table_name="financing")
    op.drop_table("financing")
    op.drop_index("ix_drawing_held_by_distributor", table_name="drawing")
    op.drop_index("ix_drawing_held", table_name="drawing")
    if pg:
        for table, name, old, _ in CHECKS:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({old})")
        op.execute("ALTER TABLE release ALTER COLUMN kind TYPE VARCHAR(16)")
    else:
        sqlite_schema.replace_checks(
            [(t, f"CONSTRAINT {n} CHECK ({new})", f"CONSTRAINT {n} CHECK ({old})") for t, n, old, new in CHECKS]
            + [("release", "kind VARCHAR(24) NOT NULL", "kind VARCHAR(16) NOT NULL")]
        )
    for table, column, _, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
