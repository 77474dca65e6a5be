"""Test databases: every database test runs on SQLite *and* on PostgreSQL.

Schemas are built with the Alembic migrations, never ``create_all``. SQLite tests get a
fresh copy of a migrated file; PostgreSQL tests share one database created for this process
(``creditlines_test_<pid>_<random>``: each pytest-xdist worker has its own), emptied with
TRUNCATE before each test and dropped at the end.

On PostgreSQL the roles are those of production: ``creditlines db create-roles`` (cluster-wide,
idempotent, never dropped: other runs share them) makes ``creditlines_owner``, which runs the
migrations, and ``creditlines_app``, which every test engine and test server connects as. The
superuser only creates, empties and drops the database; emptying it bypasses the ledger's
TRUNCATE trigger with ``session_replication_role = replica``, which only a superuser may set.

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
from creditlines.db.roles import DEFAULT_APP_ROLE, DEFAULT_OWNER_ROLE, with_user
from creditlines.models import Base
from tests.harness import PG_SERVER, pg_database

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers start with COLUMNS=80 and LINES=24 set; a rich Console made at import
    # (creditlines.cli.common) would keep 80 columns for good, whatever a test sets. A worker's
    # environment is made that of a plain run, before any test module imports the CLI.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
DEFAULT_NOW = "2026-03-02T09:00:00+00:00"  # a Monday, 10:00 in Paris


# --------------------------------------------------------------------------- pytest-xdist
# scripts/test runs the suite in worker processes: `-n 2 --dist loadfile --no-loadscope-reorder`
# (docs/DECISIONS.md, "The suite in parallel"). Each test module is one unit of work, run whole by
# one worker, so its module-scoped fixtures (a server, a database, a browser) are made once. The
# longest modules are handed out first, so that no worker is left with one at the end while the
# other idles; the rest go in collection order.
LONGEST_FIRST = ("tests/ha/test_failover.py", "tests/concurrency/test_matrix.py", "tests/api/test_schemathesis.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: the plain order

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each module keeps its order


def _pg_error() -> str | None:
    try:
        with psycopg.connect(PG_SERVER, connect_timeout=3) as conn:
            conn.execute("select 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """This run's database, as the superuser; roles created and migrations applied as the owner."""
    error = _pg_error()
    if error:
        message = f"PostgreSQL at {PG_SERVER} is unreachable ({error})"
        if IN_CI:
            pytest.fail(message + " — it is mandatory under CI=true", pytrace=False)
        pytest.skip(message + " — PostgreSQL half of the suite skipped")
    with pg_database("creditlines_test") as url:
        yield url


def create_pg_database() -> str:
    """A new empty database on the test server; its URL as the superuser."""
    name = f"creditlines_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> str:
    """The app role's URL: what the service runs as."""
    return with_user(pg_admin_url, DEFAULT_APP_ROLE)


@pytest.fixture(scope="session")
def pg_owner_url(pg_admin_url: str) -> str:
    return with_user(pg_admin_url, DEFAULT_OWNER_ROLE)


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    # Up to 60 connections at once (the 40 racing clients of tests/ledger/test_concurrency.py), but
    # only 4 kept open between tests: the idle connections of every xdist worker count against
    # the server's max_connections (100 by default), with those of the servers tests start.
    engine = make_engine(pg_url, pool_size=4, max_overflow=56)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_owner_engine(pg_owner_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_owner_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_engine(pg_admin_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_admin_url, pool_size=1)
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
        with request.getfixturevalue("pg_admin_engine").begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # the ledger's TRUNCATE trigger
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        yield request.getfixturevalue("pg_engine")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    yield from _fresh_engine(request.param, request, tmp_path)


@pytest.fixture
def pg_only_engine(request, tmp_path) -> Iterator[Engine]:
    yield from _fresh_engine("postgresql", request, tmp_path)


@pytest.fixture
def owner_engine(engine: Engine, request) -> Engine:
    """The same database as ``engine``, as the owner of its tables (SQLite has no roles)."""
    return request.getfixturevalue("pg_owner_engine") if engine.dialect.name == "postgresql" else engine


@pytest.fixture
def uow(engine: Engine) -> Iterator[UnitOfWork]:
    uow = UnitOfWork(engine)
    yield uow
    if uow.read_engine is not None:  # its connections back now, not at garbage collection
        uow.read_engine.dispose()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch) -> Iterator[None]:
    """Tests never depend on the machine's clock."""
    monkeypatch.delenv("CREDITLINES_NOW", raising=False)
    clock.set_now(DEFAULT_NOW)
    yield
    clock.set_now(None)
