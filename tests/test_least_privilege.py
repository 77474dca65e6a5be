"""PostgreSQL: the service's role may only INSERT and SELECT ledger entries; the owner migrates.

The rest of the suite runs as the app role (tests/conftest.py), which proves it may do all the
service needs; here, what it may not do, and how the roles are set up.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.engine import make_url

from creditlines.db.migrate import SchemaNotAtHead, current_heads, database_revisions, ensure_schema, upgrade
from creditlines.db.roles import DEFAULT_APP_ROLE, DEFAULT_OWNER_ROLE, Roles, create_roles, libpq_url, with_user
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import make_reseller, make_world

NEXT_ENTRY = (
    "insert into ledger_entry (distributor_id, reseller_id, seq, at, actor, kind) "
    "select 'actebis', 'R-1', max(seq) + 1, now(), 't', 'note' from ledger_entry"
)


@pytest.fixture
def world(pg_only_engine):
    from creditlines.db.engine import UnitOfWork

    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    make_reseller(uow, "R-1", "1000.00")
    uow.read_engine.dispose()


def _refused(url: str, statement: str, error=errors.InsufficientPrivilege) -> str:
    with pytest.raises(error) as refused, psycopg.connect(libpq_url(url)) as conn:
        conn.execute(statement)
    return str(refused.value)


def test_the_suite_runs_as_the_app_role(pg_url, pg_only_engine):
    assert make_url(pg_url).username == DEFAULT_APP_ROLE
    with pg_only_engine.connect() as conn:
        assert conn.exec_driver_sql("select current_user").scalar_one() == DEFAULT_APP_ROLE


def test_the_app_role_may_insert_and_select_ledger_entries_and_nothing_more(world, pg_url):
    with psycopg.connect(libpq_url(pg_url)) as conn:
        before = conn.execute("select count(*) from ledger_entry").fetchone()[0]
        conn.execute(NEXT_ENTRY)
        assert conn.execute("select count(*) from ledger_entry").fetchone()[0] == before + 1
    for statement in (
        "update ledger_entry set actor = 'x'",
        "delete from ledger_entry",
        "truncate ledger_entry",
        "update release set amount_minor = 1",
        "delete from release",
        "truncate release",
        "truncate line",
        "delete from alembic_version",
        "update alembic_version set version_num = 'x'",
        "create table mine (id int)",
        "alter table ledger_entry disable trigger user",
        "drop trigger ledger_entry_no_truncate on ledger_entry",
        "set session_replication_role = replica",
        "update insurance_cover set cover_minor = 0",
        "delete from insurance_cover",
        "truncate insurance_cover",
    ):
        message = _refused(pg_url, statement, (errors.InsufficientPrivilege, errors.UndefinedObject))
        assert "permission denied" in message or "must be owner" in message, (statement, message)


def test_even_the_owner_cannot_truncate_update_or_delete_the_ledger(world, pg_owner_url):
    for statement in (
        "truncate ledger_entry",
        "truncate ledger_entry cascade",
        "update ledger_entry set actor = 'x'",
        "delete from ledger_entry",
    ):
        assert "ledger_entry is append-only" in _refused(pg_owner_url, statement, errors.RestrictViolation)
    assert "insurance_cover is append-only" in _refused(
        pg_owner_url, "truncate insurance_cover", errors.RestrictViolation
    )


def test_migrate_refuses_the_app_role_and_serve_checks_the_schema_is_at_head(pg_url):
    env = {**os.environ, "CREDITLINES_DATABASE_URL": pg_url}
    env.pop("CREDITLINES_MIGRATION_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "creditlines", "migrate"], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "may not change the schema" in result.stderr
    assert ensure_schema(pg_url) == "at head"  # what `serve` does at start: nothing to migrate, no DDL tried


def test_an_installation_migrated_by_the_superuser_is_handed_to_the_owner():
    """Before this change installations were migrated as one role: create-roles hands the objects to the
    owner, `serve` as the app role refuses to start on the old schema, the owner migrates it."""
    admin = create_pg_database()
    try:
        upgrade(admin, "0002")
        create_roles(admin, Roles())
        create_roles(admin, Roles())  # idempotent
        owner, app = with_user(admin, DEFAULT_OWNER_ROLE), with_user(admin, DEFAULT_APP_ROLE)
        with psycopg.connect(libpq_url(admin)) as conn:
            owners = conn.execute(
                "select distinct tableowner from pg_tables where schemaname = 'public' union "
                "select distinct pg_get_userbyid(proowner) from pg_proc p join pg_namespace n "
                "on n.oid = p.pronamespace where nspname = 'public'"
            ).fetchall()
        assert owners == [(DEFAULT_OWNER_ROLE,)]

        env = {**os.environ, "CREDITLINES_DATABASE_URL": app}
        env.pop("CREDITLINES_MIGRATION_DATABASE_URL", None)
        started = subprocess.run(
            [sys.executable, "-m", "creditlines", "serve", "--port", "1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert started.returncode == 1 and "CREDITLINES_MIGRATION_DATABASE_URL" in started.stderr
        with pytest.raises(SchemaNotAtHead):
            ensure_schema(app)
        assert database_revisions(admin) == {"0002"}

        assert ensure_schema(app, owner) == "migrated"
        assert database_revisions(admin) == set(current_heads(admin))
        assert ensure_schema(app) == "at head"
        _refused(app, "update ledger_entry set actor = 'x'")
    finally:
        drop_pg_database(admin)


def test_create_roles_from_the_cli_is_idempotent_and_prints_its_sql(pg_admin_url):
    env = {**os.environ, "CREDITLINES_ADMIN_DATABASE_URL": pg_admin_url}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "creditlines", "db", "create-roles"], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, result.stderr
        assert f"role {DEFAULT_OWNER_ROLE}: already there" in result.stdout
    printed = subprocess.run(
        [sys.executable, "-m", "creditlines", "db", "create-roles", "--sql"], capture_output=True, text=True, env=env
    )
    assert printed.returncode == 0
    assert f"CREATE ROLE {DEFAULT_APP_ROLE} LOGIN;" in printed.stdout
    assert f"GRANT USAGE ON SCHEMA public TO {DEFAULT_APP_ROLE};" in printed.stdout
    script = subprocess.run(
        ["psql", libpq_url(pg_admin_url), "-v", "ON_ERROR_STOP=1", "-q"],
        input=printed.stdout,
        capture_output=True,
        text=True,
    )  # the printed SQL runs as it is, twice over
    assert script.returncode == 0, script.stderr


def test_creditlines_draw_runs_as_the_app_role(world, pg_url):
    with psycopg.connect(libpq_url(pg_url)) as conn:
        outcome = conn.execute(
            "select creditlines_draw('actebis', 'R-1', 'SO-1', 10000, null, 'erp', now()::timestamp, current_date,"
            " 'refuse', null, null)"
        ).fetchone()[0]
    assert outcome["outcome"] == "created" and outcome["amount"] == 10000


def test_the_app_role_updates_only_rows_that_change_state_and_deletes_only_sign_outs(world, pg_url):
    """SPEC §23: DELETE only where the service deletes (sign-out records); UPDATE only the tables
    whose rows change state. Every other table of the schema refuses both to the app role."""
    from creditlines.db.roles import DELETABLE, STATEFUL
    from creditlines.models import Base

    tables = {t.name: next(iter(t.primary_key.columns)).name for t in Base.metadata.sorted_tables}
    assert set(STATEFUL) | set(DELETABLE) <= set(tables)
    tried = 0
    for table, column in sorted(tables.items()):
        update = f"update {table} set {column} = {column} where false"
        delete = f"delete from {table} where false"
        for statement, allowed in ((update, table in STATEFUL), (delete, table in DELETABLE)):
            if allowed:
                with psycopg.connect(libpq_url(pg_url)) as conn:
                    conn.execute(statement)
            else:
                assert "permission denied" in _refused(pg_url, statement), statement
                tried += 1
    assert tried >= len(tables) * 2 - len(STATEFUL) - len(DELETABLE)
    for table in ("drawing", "allocation", "line", "api_key", "reseller"):  # the examples: no DELETE
        assert "permission denied" in _refused(pg_url, f"delete from {table} where false")
    for table in (
        "vendor",
        "console_sign_out",
        "event",
        "webhook_attempt",
        "ledger_entry",
    ):  # distributor: hold_days (0010)
        assert "permission denied" in _refused(pg_url, f"update {table} set {tables[table]} = {tables[table]}")
