"""losses: cover in time, defaults, write-offs, claims, funder statements (SPEC §19–§21)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:30:00

* ``insurance_cover.effective_on`` (null on older rows: in force from ``decided_on``; added
  without a table rebuild, so SQLite keeps the table's append-only triggers: the rule
  effective_on >= decided_on is the service's);
  ``credit_policy.indemnity_rate_bp`` (default 9000 = 90 %).
* ``drawing.status`` may be ``written_off`` (outstanding 0).
* ``reseller_default``, ``write_off`` and ``write_off_part`` are append-only (triggers on both
  databases; on PostgreSQL the app role loses UPDATE, DELETE and TRUNCATE on them). ``claim`` is
  settled in place (UPDATE kept); ``funder_statement`` is append-only too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles, sqlite_schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APPEND_ONLY = ("reseller_default", "write_off", "write_off_part", "funder_statement")
HELD = " OR (status IN ('held', 'cancelled', 'expired') AND outstanding_minor = 0 AND held_at IS NOT NULL)"
OLD_STATUS = "(status = 'open' AND outstanding_minor > 0) OR (status = 'settled' AND outstanding_minor = 0)" + HELD
NEW_STATUS = (
    "(status = 'open' AND outstanding_minor > 0) OR (status IN ('settled', 'written_off') AND outstanding_minor = 0)"
    + HELD
)


def _drawing_status(old: str, new: str) -> None:
    """The drawing's status CHECK from ``old`` to ``new`` (in place on SQLite: the table is
    referenced by foreign keys and may hold rows; see creditlines.db.sqlite_schema)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE drawing DROP CONSTRAINT ck_drawing_status")
        op.execute(f"ALTER TABLE drawing ADD CONSTRAINT ck_drawing_status CHECK ({new})")
    else:
        name = "CONSTRAINT ck_drawing_status CHECK"
        sqlite_schema.replace_checks([("drawing", f"{name} ({old})", f"{name} ({new})")])


def upgrade() -> None:
    op.add_column("insurance_cover", sa.Column("effective_on", sa.Date(), nullable=True))
    op.add_column("credit_policy", sa.Column("indemnity_rate_bp", sa.Integer(), nullable=False, server_default="9000"))
    with op.batch_alter_table("credit_policy") as batch:
        batch.create_check_constraint(
            op.f("ck_credit_policy_indemnity_rate_range"), "indemnity_rate_bp BETWEEN 0 AND 10000"
        )
    _drawing_status(OLD_STATUS, NEW_STATUS)
    op.create_table(
        "reseller_default",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_reseller_default_distributor_id_reseller"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "reseller_id", name=op.f("pk_reseller_default")),
    )
    op.create_table(
        "write_off",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested", sa.Text(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_write_off_amount_positive")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_write_off_distributor_id_reseller"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "reseller_id", "reference", name=op.f("pk_write_off")),
    )
    op.create_table(
        "write_off_part",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("write_off_reference", sa.String(length=100), nullable=False),
        sa.Column("drawing_reference", sa.String(length=100), nullable=False),
        sa.Column("line_id", sa.String(length=36), nullable=False),
        sa.Column("line_kind", sa.String(length=16), nullable=False),
        sa.Column("funder_kind", sa.String(length=16), nullable=False),
        sa.Column("funder", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("insured_minor", sa.BigInteger(), nullable=False),
        sa.Column("insurer", sa.String(length=200), nullable=True),
        sa.Column("cover_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "funder_kind IN ('vendor', 'financier', 'distributor')", name=op.f("ck_write_off_part_funder_kind")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_write_off_part_amount_positive")),
        sa.CheckConstraint(
            "insured_minor >= 0 AND insured_minor <= amount_minor", name=op.f("ck_write_off_part_insured_range")
        ),
        sa.CheckConstraint(
            "funder_kind = 'distributor' OR insured_minor = 0", name=op.f("ck_write_off_part_insured_only_base")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "write_off_reference"],
            ["write_off.distributor_id", "write_off.reseller_id", "write_off.reference"],
            name=op.f("fk_write_off_part_distributor_id_write_off"),
        ),
        sa.PrimaryKeyConstraint(
            "distributor_id",
            "reseller_id",
            "write_off_reference",
            "drawing_reference",
            "line_id",
            name=op.f("pk_write_off_part"),
        ),
    )
    op.create_table(
        "claim",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("write_off_reference", sa.String(length=100), nullable=False),
        sa.Column("funder_kind", sa.String(length=16), nullable=False),
        sa.Column("funder", sa.String(length=200), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("written_off_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("indemnity_rate_bp", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("settled_by", sa.String(length=100), nullable=True),
        sa.Column("amount_paid_minor", sa.BigInteger(), nullable=True),
        sa.Column("settlement_reference", sa.String(length=100), nullable=True),
        sa.CheckConstraint("funder_kind IN ('vendor', 'financier', 'insurer')", name=op.f("ck_claim_funder_kind")),
        sa.CheckConstraint("status IN ('open', 'paid', 'rejected')", name=op.f("ck_claim_status")),
        sa.CheckConstraint(
            "amount_minor >= 0 AND amount_minor <= written_off_minor", name=op.f("ck_claim_amount_range")
        ),
        sa.CheckConstraint("(funder_kind = 'vendor') = (vendor_id IS NOT NULL)", name=op.f("ck_claim_vendor_id")),
        sa.CheckConstraint(
            "amount_paid_minor IS NULL OR (amount_paid_minor >= 0 AND amount_paid_minor <= amount_minor)",
            name=op.f("ck_claim_amount_paid_range"),
        ),
        sa.CheckConstraint("(status = 'open') = (settled_at IS NULL)", name=op.f("ck_claim_settled_at")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "write_off_reference"],
            ["write_off.distributor_id", "write_off.reseller_id", "write_off.reference"],
            name=op.f("fk_claim_distributor_id_write_off"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_claim")),
    )
    op.create_index("ix_claim_status", "claim", ["distributor_id", "status"])
    op.create_index("ix_claim_vendor", "claim", ["vendor_id", "created_at"])
    op.create_index("ix_claim_write_off", "claim", ["distributor_id", "reseller_id", "write_off_reference"])
    op.create_table(
        "funder_statement",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("funder", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("previous_digest", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("distributor_id", "funder", "period", name=op.f("pk_funder_statement")),
    )
    for table in APPEND_ONLY:
        _append_only(table)


def _append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        return
    op.execute(sqlfiles.load("table_append_only_0006").format(table=table))
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )
    app_role = op.get_context().config.get_main_option("app_role") or "creditlines_app"
    app = bind.dialect.identifier_preparer.quote_identifier(app_role)
    exists = bind.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": app_role}).first()
    if exists is not None:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {app}, PUBLIC")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in reversed(APPEND_ONLY):
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    op.drop_table("funder_statement")
    op.drop_index("ix_claim_write_off", table_name="claim")
    op.drop_index("ix_claim_vendor", table_name="claim")
    op.drop_index("ix_claim_status", table_name="claim")
    op.drop_table("claim")
    op.drop_table("write_off_part")
    op.drop_table("write_off")
    op.drop_table("reseller_default")
    _drawing_status(NEW_STATUS, OLD_STATUS)
    with op.batch_alter_table("credit_policy") as batch:
        batch.drop_constraint(op.f("ck_credit_policy_indemnity_rate_range"), type_="check")
        batch.drop_column("indemnity_rate_bp")
    op.drop_column("insurance_cover", "effective_on")
