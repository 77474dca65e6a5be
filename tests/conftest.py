"""Test databases: every database test runs on SQLite *and* on PostgreSQL.

Schemas are built with the Alembic migrations, never ``create_all``. SQLite tests get a
fresh copy of a migrated file; PostgreSQL tests share one database created for this run
(``creditlines_test_<pid>``), emptied with TRUNCATE before each test and dropped at the end.

PostgreSQL is mandatory under ``CI=true``; elsewhere, when it is unreachable, its half of
the suite is skipped with a message saying why.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from creditlines import clock
from creditlines.db.engine import UnitOfWork, make_engine
from creditlines.db.migrate import upgrade
from creditlines.models import Base

PG_SERVER = os.environ.get("CREDITLINES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEFAULT_NOW = "2026-03-02T09:00:00+00:00"  # a Monday, 10:00 in Paris


def _pg_error() -> str | None:
    try:
        with psycopg.connect(PG_SERVER, connect_timeout=3) as conn:
            conn.execute("select 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    error = _pg_error()
    if error:
        message = f"PostgreSQL at {PG_SERVER} is unreachable ({error})"
        if IN_CI:
            pytest.fail(message + " — it is mandatory under CI=true", pytrace=False)
        pytest.skip(message + " — PostgreSQL half of the suite skipped")
    name = f"creditlines_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url, pool_size=40)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


def _fresh_engine(kind: str, request, tmp_path) -> Iterator[Engine]:
    if kind == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "creditlines.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}", pool_size=40)
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        yield engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    yield from _fresh_engine(request.param, request, tmp_path)


@pytest.fixture
def pg_only_engine(request, tmp_path) -> Iterator[Engine]:
    yield from _fresh_engine("postgresql", request, tmp_path)


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork(engine)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch) -> Iterator[None]:
    """Tests never depend on the machine's clock."""
    monkeypatch.delenv("CREDITLINES_NOW", raising=False)
    clock.set_now(DEFAULT_NOW)
    yield
    clock.set_now(None)
