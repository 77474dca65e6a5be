"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 18:05:08.253043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "distributor",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_distributor_currency_iso")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributor")),
    )
    op.create_table(
        "vendor",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("distributor_id", sa.String(length=64), nullable=True),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(role = 'admin' AND distributor_id IS NULL AND vendor_id IS NULL) OR (role IN ('credit_officer', 'integration') AND distributor_id IS NOT NULL AND vendor_id IS NULL) OR (role = 'partner_manager' AND vendor_id IS NOT NULL AND distributor_id IS NULL)",
            name=op.f("ck_api_key_scope"),
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'credit_officer', 'integration', 'partner_manager')", name=op.f("ck_api_key_role")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_api_key_distributor_id_distributor")
        ),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name=op.f("fk_api_key_vendor_id_vendor")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
    )
    op.create_table(
        "programme",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=130), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("line_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("usable_for", sa.String(length=16), nullable=False),
        sa.Column("on_expiry", sa.String(length=16), nullable=False),
        sa.Column("max_beneficiaries", sa.Integer(), nullable=True),
        sa.Column("max_total_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("trigger_category", sa.String(length=100), nullable=True),
        sa.Column("trigger_min_minor", sa.BigInteger(), nullable=True),
        sa.Column("line_duration_months", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'standing' AND trigger_category IS NULL AND trigger_min_minor IS NULL AND line_duration_months IS NULL) OR (kind = 'purchase_triggered' AND trigger_category IS NOT NULL AND trigger_min_minor > 0 AND line_duration_months >= 1)",
            name=op.f("ck_programme_kind_shape"),
        ),
        sa.CheckConstraint("kind IN ('standing', 'purchase_triggered')", name=op.f("ck_programme_kind")),
        sa.CheckConstraint("on_expiry IN ('transfer_to_base', 'run_off')", name=op.f("ck_programme_on_expiry")),
        sa.CheckConstraint("status IN ('active', 'closed')", name=op.f("ck_programme_status")),
        sa.CheckConstraint("usable_for IN ('any', 'vendor_products')", name=op.f("ck_programme_usable_for")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_programme_window")),
        sa.CheckConstraint("line_limit_minor > 0", name=op.f("ck_programme_line_limit_positive")),
        sa.CheckConstraint(
            "max_beneficiaries IS NULL OR max_beneficiaries >= 0", name=op.f("ck_programme_max_beneficiaries")
        ),
        sa.CheckConstraint(
            "max_total_limit_minor IS NULL OR max_total_limit_minor >= 0", name=op.f("ck_programme_max_total_limit")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_programme_distributor_id_distributor")
        ),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name=op.f("fk_programme_vendor_id_vendor")),
        sa.PrimaryKeyConstraint("distributor_id", "vendor_id", "id", name=op.f("pk_programme")),
    )
    op.create_table(
        "reseller",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'on_hold', 'terminated')", name=op.f("ck_reseller_status")),
        sa.CheckConstraint("ledger_seq >= 0", name=op.f("ck_reseller_ledger_seq_nonnegative")),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_reseller_distributor_id_distributor")
        ),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_reseller")),
    )
    op.create_table(
        "drawing",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "(status = 'open' AND outstanding_minor > 0) OR (status = 'settled' AND outstanding_minor = 0)",
            name=op.f("ck_drawing_status"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_drawing_amount_positive")),
        sa.CheckConstraint(
            "outstanding_minor >= 0 AND outstanding_minor <= amount_minor", name=op.f("ck_drawing_outstanding_range")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_drawing_distributor_id_reseller"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "reseller_id", "reference", name=op.f("pk_drawing")),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("line_id", sa.String(length=36), nullable=True),
        sa.Column("drawing_reference", sa.String(length=100), nullable=True),
        sa.Column("release_reference", sa.String(length=100), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("drawn_delta_minor", sa.BigInteger(), nullable=True),
        sa.Column("limit_after_minor", sa.BigInteger(), nullable=True),
        sa.Column("valid_until_after", sa.Date(), nullable=True),
        sa.Column("status_after", sa.String(length=16), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_ledger_entry_distributor_id_reseller"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "reseller_id", "seq", name=op.f("pk_ledger_entry")),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entry_line", ["distributor_id", "line_id"], unique=False)

    op.create_table(
        "line",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("programme_id", sa.String(length=130), nullable=True),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("funder", sa.String(length=64), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("drawn_minor", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("usable_for", sa.String(length=16), nullable=False),
        sa.Column("on_expiry", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("grant_seq", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'base' AND vendor_id IS NULL AND valid_until IS NULL AND status = 'active') OR (kind = 'programme' AND vendor_id IS NOT NULL AND valid_until IS NOT NULL AND on_expiry IS NOT NULL)",
            name=op.f("ck_line_kind_shape"),
        ),
        sa.CheckConstraint("kind = 'base' OR drawn_minor <= limit_minor", name=op.f("ck_line_programme_within_limit")),
        sa.CheckConstraint("kind IN ('base', 'programme')", name=op.f("ck_line_kind")),
        sa.CheckConstraint(
            "on_expiry IS NULL OR on_expiry IN ('transfer_to_base', 'run_off')", name=op.f("ck_line_on_expiry")
        ),
        sa.CheckConstraint("status IN ('active', 'expired', 'revoked')", name=op.f("ck_line_status")),
        sa.CheckConstraint("usable_for IN ('any', 'vendor_products')", name=op.f("ck_line_usable_for")),
        sa.CheckConstraint("drawn_minor >= 0", name=op.f("ck_line_drawn_nonnegative")),
        sa.CheckConstraint("limit_minor >= 0", name=op.f("ck_line_limit_nonnegative")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_line_distributor_id_reseller"),
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "vendor_id", "programme_id"],
            ["programme.distributor_id", "programme.vendor_id", "programme.id"],
            name=op.f("fk_line_distributor_id_programme"),
        ),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name=op.f("fk_line_vendor_id_vendor")),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_line")),
    )
    with op.batch_alter_table("line", schema=None) as batch_op:
        batch_op.create_index("ix_line_expiry", ["distributor_id", "status", "valid_until"], unique=False)
        batch_op.create_index(
            "ix_line_programme", ["distributor_id", "vendor_id", "programme_id", "status"], unique=False
        )
        batch_op.create_index("ix_line_reseller", ["distributor_id", "reseller_id"], unique=False)
        batch_op.create_index(
            "uq_line_one_base_per_reseller",
            ["distributor_id", "reseller_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'base'"),
            postgresql_where=sa.text("kind = 'base'"),
        )

    op.create_table(
        "purchase_event",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("product_category", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_purchase_event_amount_positive")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_purchase_event_distributor_id_reseller"),
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_purchase_event_distributor_id_distributor")
        ),
        sa.PrimaryKeyConstraint("distributor_id", "event_id", name=op.f("pk_purchase_event")),
    )
    op.create_table(
        "allocation",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("drawing_reference", sa.String(length=100), nullable=False),
        sa.Column("line_id", sa.String(length=36), nullable=False),
        sa.Column("funder", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_allocation_amount_nonnegative")),
        sa.CheckConstraint("outstanding_minor >= 0", name=op.f("ck_allocation_outstanding_nonnegative")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "line_id"],
            ["line.distributor_id", "line.id"],
            name=op.f("fk_allocation_distributor_id_line"),
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "drawing_reference"],
            ["drawing.distributor_id", "drawing.reseller_id", "drawing.reference"],
            name=op.f("fk_allocation_distributor_id_drawing"),
        ),
        sa.PrimaryKeyConstraint(
            "distributor_id", "reseller_id", "drawing_reference", "line_id", name=op.f("pk_allocation")
        ),
    )
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.create_index("ix_allocation_line", ["distributor_id", "line_id"], unique=False)

    op.create_table(
        "release",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("drawing_reference", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("kind IN ('payment', 'cancellation', 'credit_note')", name=op.f("ck_release_kind")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_release_amount_positive")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "drawing_reference"],
            ["drawing.distributor_id", "drawing.reseller_id", "drawing.reference"],
            name=op.f("fk_release_distributor_id_drawing"),
        ),
        sa.PrimaryKeyConstraint(
            "distributor_id", "reseller_id", "drawing_reference", "reference", name=op.f("pk_release")
        ),
    )
    _append_only_ledger()


APPEND_ONLY_MESSAGE = "ledger_entry is append-only"  # also in ledger_entry_append_only_0001.pg.sql


def _append_only_ledger() -> None:
    """The database itself refuses to change or delete a ledger entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sqlfiles.load("ledger_entry_append_only_0001"))
        op.execute(
            "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_entry_no_{action.lower()} BEFORE {action} ON ledger_entry "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry")
        op.execute("DROP FUNCTION IF EXISTS ledger_entry_append_only()")
    op.drop_table("release")
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_line")

    op.drop_table("allocation")
    with op.batch_alter_table("line", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_line_one_base_per_reseller",
            sqlite_where=sa.text("kind = 'base'"),
            postgresql_where=sa.text("kind = 'base'"),
        )
        batch_op.drop_index("ix_line_reseller")
        batch_op.drop_index("ix_line_programme")
        batch_op.drop_index("ix_line_expiry")

    op.drop_table("line")
    op.drop_table("purchase_event")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_line")

    op.drop_table("ledger_entry")
    op.drop_table("drawing")
    op.drop_table("reseller")
    op.drop_table("programme")
    op.drop_table("api_key")
    op.drop_table("vendor")
    op.drop_table("distributor")
