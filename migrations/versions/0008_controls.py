"""controls: policy requests, superseded limit requests, nominations keyed by vendor, least privilege

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:00:00

SPEC §23:

* ``policy_request``: a loosening change of the credit policy, or a raise of an insurer cover,
  waiting for a second officer key (its rows change state: pending → decided).
* ``limit_request.status`` may be ``superseded`` (the base limit changed under a pending raise).
* ``uq_nomination_pending`` names the vendor: two vendors may use one programme code at a
  distributor, and one's pending nomination never answers the other's enrolment.
* ``ix_ledger_entry_limit_set``: the base-limit changes of a reseller over 30 days (the four-eyes
  baseline) read without scanning its drawings.
* PostgreSQL, least privilege finished: the app role may DELETE only ``console_sign_out`` rows
  (the sign-outs it purges) and UPDATE only the tables whose rows change state
  (``STATEFUL``); default privileges no longer grant DELETE to tables created later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Kept in step with creditlines.db.roles (STATEFUL, DELETABLE).
STATEFUL = (
    "allocation",
    "api_key",
    "credit_policy",
    "drawing",
    "limit_request",
    "line",
    "nomination",
    "partnership",
    "policy_request",
    "programme",
    "purchase_event",
    "reseller",
    "webhook",
)
DELETABLE = ("console_sign_out",)
OLD_STATUSES = "status IN ('pending', 'approved', 'rejected', 'expired')"
NEW_STATUSES = "status IN ('pending', 'approved', 'rejected', 'expired', 'superseded')"


def _app_role() -> str | None:
    """The app role quoted, when it exists (PostgreSQL)."""
    bind = op.get_bind()
    app_role = op.get_context().config.get_main_option("app_role") or "creditlines_app"
    exists = bind.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": app_role}).first()
    return None if exists is None else bind.dialect.identifier_preparer.quote_identifier(app_role)


def _statuses(check: str) -> None:
    with op.batch_alter_table("limit_request", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_limit_request_status"), type_="check")
        batch.create_check_constraint(op.f("ck_limit_request_status"), sa.text(check))


def _pending_index(columns: list[str]) -> None:
    op.drop_index("uq_nomination_pending", table_name="nomination")
    op.create_index(
        "uq_nomination_pending",
        "nomination",
        columns,
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def upgrade() -> None:
    op.create_table(
        "policy_request",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("previous", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("kind IN ('credit_policy', 'insurance_cover')", name=op.f("ck_policy_request_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired')", name=op.f("ck_policy_request_status")
        ),
        sa.CheckConstraint(
            "(kind = 'insurance_cover') = (reseller_id IS NOT NULL)", name=op.f("ck_policy_request_reseller_when_cover")
        ),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f("ck_policy_request_decided_at")),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_policy_request_distributor_id_distributor")
        ),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_policy_request")),
    )
    op.create_index("ix_policy_request_status", "policy_request", ["distributor_id", "status", "expires_at"])
    _statuses(NEW_STATUSES)
    _pending_index(["distributor_id", "vendor_id", "programme_id", "reseller_id"])
    op.create_index(
        "ix_ledger_entry_limit_set",
        "ledger_entry",
        ["distributor_id", "reseller_id", "at"],
        sqlite_where=sa.text("kind = 'limit_set'"),
        postgresql_where=sa.text("kind = 'limit_set'"),
    )
    if op.get_bind().dialect.name != "postgresql" or (app := _app_role()) is None:
        return
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    schema = op.get_bind().dialect.identifier_preparer.quote_identifier(schema)
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} FROM {app}, PUBLIC")
    op.execute(f"GRANT UPDATE ON {', '.join(STATEFUL)} TO {app}")
    op.execute(f"GRANT DELETE ON {', '.join(DELETABLE)} TO {app}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE DELETE, TRUNCATE ON TABLES FROM {app}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and (app := _app_role()) is not None:
        schema = bind.dialect.identifier_preparer.quote_identifier(
            bind.exec_driver_sql("SELECT current_schema()").scalar_one()
        )
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT DELETE ON TABLES TO {app}")
        for table in ("distributor", "vendor", "console_sign_out", *STATEFUL):
            if table != "policy_request":
                op.execute(f"GRANT UPDATE, DELETE ON {table} TO {app}")
    op.drop_index("ix_ledger_entry_limit_set", table_name="ledger_entry")
    _pending_index(["distributor_id", "programme_id", "reseller_id"])
    op.execute("UPDATE limit_request SET status = 'expired' WHERE status = 'superseded'")
    _statuses(OLD_STATUSES)
    op.drop_index("ix_policy_request_status", table_name="policy_request")
    op.drop_table("policy_request")
