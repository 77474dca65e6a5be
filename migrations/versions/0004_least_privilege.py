"""least privilege: the app role may only INSERT and SELECT ledger entries; no TRUNCATE of the ledger

Revision ID: 0004_least_privilege
Revises: 0002

PostgreSQL only (SQLite has no roles; its UPDATE and DELETE triggers stay). Run as the owner
of the tables (``creditlines migrate`` with the owner's URL):

* the app role (``creditlines_app`` unless the Alembic option ``app_role`` says otherwise) gets
  SELECT, INSERT, UPDATE, DELETE on every table of the schema and USAGE, SELECT on every
  sequence, now and for what the owner creates later (default privileges), so later migrations
  need no grants of their own — except for a new append-only table, which adds itself below;
* then loses UPDATE, DELETE and TRUNCATE on the append-only tables (``ledger_entry``,
  ``release``) and may only read ``alembic_version``;
* a statement trigger refuses TRUNCATE of ``ledger_entry`` whoever asks, the owner included
  (0001's row triggers already refuse UPDATE and DELETE). Only a superuser can bypass it, with
  ``SET session_replication_role = replica``; the owner can by disabling the trigger
  (``ALTER TABLE … DISABLE TRIGGER``), which the app role cannot.

When the app role does not exist yet, it is created NOLOGIN if the migrating role may create
roles (``creditlines db create-roles`` later gives it LOGIN); otherwise the migration stops and
says to run ``creditlines db create-roles`` first.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_entry", "release", "partnership_entry")  # kept in step with creditlines.db.roles.APPEND_ONLY


def _names() -> tuple[str, str, str]:
    """The app role quoted and as a string literal, and the schema quoted."""
    bind = op.get_bind()
    app_role = op.get_context().config.get_main_option("app_role") or "creditlines_app"
    quote = bind.dialect.identifier_preparer.quote_identifier
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    return quote(app_role), app_role.replace("'", "''"), quote(schema)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    app, literal, schema = _names()
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{literal}') THEN
                BEGIN
                    CREATE ROLE {app} NOLOGIN;
                EXCEPTION
                    WHEN duplicate_object OR unique_violation THEN NULL;  -- created meanwhile
                    WHEN insufficient_privilege THEN
                        RAISE EXCEPTION 'role % does not exist', '{literal}'
                            USING HINT = 'run `creditlines db create-roles` as a superuser first';
                END;
            END IF;
            IF '{literal}' = current_user THEN
                RAISE EXCEPTION 'migrations must run as the owner, not as the app role %', current_user;
            END IF;
        END
        $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {app}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {app}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {app}, PUBLIC")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {app}")
    op.execute(
        "CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    app, _, schema = _names()
    op.execute("DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {app}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {app}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {app}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}")
