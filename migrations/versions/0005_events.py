"""events: the outbox (append-only), webhook endpoints and their delivery log; creditlines_draw writes its events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:00:00

* ``event``: one row per change of state, written in the transaction of the change (SPEC §13).
  On PostgreSQL ``txid`` defaults to the writing transaction's id (``pg_current_xact_id()``):
  the feeds read in ``(txid, id)`` order up to the oldest running transaction, so nothing
  committed late is skipped (docs/DECISIONS.md). Append-only: UPDATE and DELETE refused by
  triggers on both databases, and the app role may only SELECT and INSERT it.
* ``webhook``: endpoints and their delivery state (cursor, failing streak, lease); the app role
  updates it. ``webhook_attempt``: the deliveries log, append-only like ``event``.
* ``creditlines_draw`` replaced by ``creditlines/db/sql/creditlines_draw_0005.pg.sql``, which also
  writes drawing.created / drawing.refused and the alerts a drawing causes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from creditlines.db import sqlfiles

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY = ("event", "webhook_attempt")  # kept in step with creditlines.db.roles.APPEND_ONLY


def _id_column(pg: bool) -> list[sa.Column]:
    """A generated id: an identity column on PostgreSQL, the rowid (INTEGER PRIMARY KEY) on SQLite."""
    if pg:
        return [sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False)]
    return [sa.Column("id", sa.Integer(), nullable=False)]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "event",
        sa.Column("distributor_id", sa.String(length=64), nullable=False),
        # PostgreSQL: an identity. SQLite: set by the insert to the rowid it gets (max + 1 under
        # its single writer), creditlines.events.outbox.
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False)
        if pg
        else sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "txid",
            sa.BigInteger(),
            nullable=False,
            server_default=sa.text("(pg_current_xact_id()::text::bigint)") if pg else sa.text("0"),
        ),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("reseller_id", sa.String(length=64), nullable=True),
        sa.Column("programme_id", sa.String(length=200), nullable=True),
        sa.Column("dedupe_key", sa.String(length=300), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_event_distributor_id_distributor")
        ),
        sa.PrimaryKeyConstraint("distributor_id", "id", name=op.f("pk_event")),
    )
    # Partial indexes: a drawing's event (no vendor, no dedupe key) pays for two indexes, not four.
    op.create_index("ix_event_distributor_order", "event", ["distributor_id", "txid", "id"])
    op.create_index(
        "ix_event_vendor_order",
        "event",
        ["vendor_id", "txid", "id"],
        postgresql_where=sa.text("vendor_id IS NOT NULL"),
        sqlite_where=sa.text("vendor_id IS NOT NULL"),
    )
    op.create_index(
        "uq_event_dedupe_key",
        "event",
        ["distributor_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("dedupe_key IS NOT NULL"),
        sqlite_where=sa.text("dedupe_key IS NOT NULL"),
    )
    op.create_table(
        "webhook",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("distributor_id", sa.String(length=64), nullable=True),
        sa.Column("vendor_id", sa.String(length=64), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("cursor_txid", sa.BigInteger(), nullable=False),
        sa.Column("cursor_id", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_webhook_status")),
        sa.CheckConstraint("distributor_id IS NULL OR vendor_id IS NULL", name=op.f("ck_webhook_one_scope")),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributor.id"], name=op.f("fk_webhook_distributor_id_distributor")
        ),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name=op.f("fk_webhook_vendor_id_vendor")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_index("ix_webhook_due", "webhook", ["status", "next_attempt_at"])
    op.create_table(
        "webhook_attempt",
        *_id_column(pg),
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.CheckConstraint("outcome IN ('delivered', 'failed')", name=op.f("ck_webhook_attempt_outcome")),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_attempt_webhook_id_webhook")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index("ix_webhook_attempt_webhook", "webhook_attempt", ["webhook_id", "id"])
    for table in APPEND_ONLY:
        if pg:
            op.execute(sqlfiles.load("table_append_only_0005").format(table=table))
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
    if pg:
        bind = op.get_bind()
        app_role = op.get_context().config.get_main_option("app_role") or "creditlines_app"
        app = bind.dialect.identifier_preparer.quote_identifier(app_role)
        exists = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{app_role.replace(chr(39), '')}'")
        if exists.first() is not None:  # 0004 created it; grants come from its default privileges
            for table in APPEND_ONLY:
                op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {app}, PUBLIC")
        op.execute(sqlfiles.load("creditlines_draw_0005"))


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute(sqlfiles.load("creditlines_draw_0002").replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    op.drop_table("webhook_attempt")
    op.drop_table("webhook")
    op.drop_table("event")
