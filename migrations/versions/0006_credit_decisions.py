"""credit decisions: credit policy, limit requests, nominations, insurer cover (SPEC §12)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-03 08:00:00

``insurance_cover`` is append-only: triggers refuse UPDATE and DELETE on both databases, and on
PostgreSQL the app role loses UPDATE, DELETE and TRUNCATE on it (the default privileges of 0004
granted them when the owner created it). The other tables change state (pending → decided) and
keep the default grants.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_policy",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("approval_threshold_minor", sa.BigInteger(), nullable=True),
        sa.Column("base_cap_policy", sa.String(length=32), nullable=False),
        sa.Column("discretionary_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "base_cap_policy IN ('none', 'cover_plus_discretionary')", name=op.f("ck_credit_policy_base_cap_policy")
        ),
        sa.CheckConstraint(
            "approval_threshold_minor IS NULL OR approval_threshold_minor >= 0",
            name=op.f("ck_credit_policy_approval_threshold_nonnegative"),
        ),
        sa.CheckConstraint("discretionary_minor >= 0", name=op.f("ck_credit_policy_discretionary_nonnegative")),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_credit_policy_distributor_id_distributor")
        ),
        sa.PrimaryKeyConstraint("distributor_id", name=op.f("pk_credit_policy")),
    )
    op.create_table(
        "limit_request",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("current_minor", sa.BigInteger(), nullable=False),
        sa.Column("requested_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired')", name=op.f("ck_limit_request_status")
        ),
        sa.CheckConstraint(
            "requested_minor > current_minor AND current_minor >= 0", name=op.f("ck_limit_request_raise")
        ),
        sa.CheckConstraint(
            "decided_limit_minor IS NULL OR (decided_limit_minor >= 0 AND decided_limit_minor <= requested_minor)",
            name=op.f("ck_limit_request_decided_limit_range"),
        ),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f("ck_limit_request_decided_at")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_limit_request_distributor_id_reseller"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_limit_request")),
    )
    op.create_index("ix_limit_request_status", "limit_request", ["distributor_id", "status", "expires_at"])
    op.create_table(
        "nomination",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=130), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("nominated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("refusal_code", sa.String(length=32), nullable=True),
        sa.Column("line_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_nomination_status")),
        sa.CheckConstraint(
            "refusal_code IS NULL OR refusal_code IN ('declined', 'credit_risk', 'insurer_cover', 'commercial')",
            name=op.f("ck_nomination_refusal_code"),
        ),
        sa.CheckConstraint("limit_minor > 0", name=op.f("ck_nomination_limit_positive")),
        sa.CheckConstraint(
            "decided_limit_minor IS NULL OR (decided_limit_minor > 0 AND decided_limit_minor <= limit_minor)",
            name=op.f("ck_nomination_decided_limit_range"),
        ),
        sa.CheckConstraint(
            "(status = 'approved') = (line_id IS NOT NULL)", name=op.f("ck_nomination_line_when_approved")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_nomination_distributor_id_reseller"),
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id", "vendor_id", "programme_id"],
            ["programme.distributor_id", "programme.vendor_id", "programme.id"],
            name=op.f("fk_nomination_distributor_id_programme"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_nomination")),
    )
    op.create_index("ix_nomination_status", "nomination", ["distributor_id", "status"])
    op.create_index("ix_nomination_programme", "nomination", ["distributor_id", "vendor_id", "programme_id"])
    op.create_index(
        "uq_nomination_pending",
        "nomination",
        ["distributor_id", "programme_id", "reseller_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "insurance_cover",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("insurer", sa.String(length=200), nullable=False),
        sa.Column("cover_minor", sa.BigInteger(), nullable=False),
        sa.Column("previous_cover_minor", sa.BigInteger(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.CheckConstraint("cover_minor >= 0", name=op.f("ck_insurance_cover_cover_nonnegative")),
        sa.ForeignKeyConstraint(
            ["distributor_id", "reseller_id"],
            ["reseller.distributor_id", "reseller.id"],
            name=op.f("fk_insurance_cover_distributor_id_reseller"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "reseller_id", "seq", name=op.f("pk_insurance_cover")),
    )
    op.create_index("ix_insurance_cover_decided_on", "insurance_cover", ["distributor_id", "decided_on"])
    _append_only("insurance_cover")


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS insurance_cover_no_truncate ON insurance_cover")
        op.execute("DROP TRIGGER IF EXISTS insurance_cover_append_only ON insurance_cover")
        op.execute("DROP FUNCTION IF EXISTS insurance_cover_append_only()")
    op.drop_table("insurance_cover")
    op.drop_index("uq_nomination_pending", table_name="nomination")
    op.drop_table("nomination")
    op.drop_table("limit_request")
    op.drop_table("credit_policy")
