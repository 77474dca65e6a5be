"""Upgrading a database of the first version keeps it working: migration 0003 admits every vendor
where it already runs a programme (and nowhere else), with a history entry saying so."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, text

from creditlines.db.migrate import upgrade
from tests.conftest import PG_SERVER

ROWS = [
    "INSERT INTO distributor VALUES ('actebis', 'Actebis', 'EUR', 'Europe/Paris', '2026-01-01 00:00:00')",
    "INSERT INTO distributor VALUES ('ingram', 'Ingram', 'EUR', 'Europe/Paris', '2026-01-01 00:00:00')",
    "INSERT INTO vendor VALUES ('microsoft', 'Microsoft', '2026-01-01 00:00:00')",
    "INSERT INTO vendor VALUES ('hp', 'HP', '2026-01-01 00:00:00')",
    "INSERT INTO programme (distributor_id, vendor_id, id, code, name, kind, line_limit_minor, starts_on, ends_on,"
    " usable_for, on_expiry, status, created_at, updated_at) VALUES ('actebis', 'microsoft', 'mezzanine@actebis',"
    " 'mezzanine', 'Mezzanine', 'standing', 500000, '2026-01-01', '2026-06-30', 'any', 'transfer_to_base', 'active',"
    " '2026-01-05 08:00:00', '2026-01-05 08:00:00')",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'v1.db'}"
        return
    request.getfixturevalue("pg_url")  # skips (or fails under CI) when PostgreSQL is unreachable
    name = f"creditlines_migration_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_admits_vendors_where_they_already_run_programmes(old_database):
    upgrade(old_database, "0002")
    engine = create_engine(old_database)
    with engine.begin() as conn:
        for row in ROWS:
            conn.execute(text(row))
    upgrade(old_database)
    with engine.connect() as conn:
        partnerships = conn.execute(
            text("SELECT distributor_id, vendor_id, status, max_line_limit_minor, requires_approval FROM partnership")
        ).all()
        history = conn.execute(text("SELECT distributor_id, vendor_id, seq, actor, kind FROM partnership_entry")).all()
    engine.dispose()
    assert [tuple(p) for p in partnerships] == [("actebis", "microsoft", "active", None, False)]
    assert [tuple(h) for h in history] == [("actebis", "microsoft", 1, "migration", "admitted")]
