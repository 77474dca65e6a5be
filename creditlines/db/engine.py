"""Engines and units of work.

The request (or the job) owns the transaction: services flush, the unit of work commits.

SQLite: the driver is put in autocommit mode and we emit ``BEGIN`` ourselves, so that a
write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock up front and
waits for it with the busy timeout, instead of failing later with "database is locked"
when a deferred reader tries to write). Read transactions use a plain deferred ``BEGIN``
and run alongside writers thanks to WAL.

PostgreSQL: READ COMMITTED; write paths serialise per reseller with ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_S = 60


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size * 4,
        )
        _install_sqlite_transactions(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
    )


def _install_sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover - exercised by every test
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_postgresql(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


class UnitOfWork:
    """Session factories bound to one engine."""

    def __init__(self, engine: Engine) -> None:
        import creditlines.models  # noqa: F401 - every mapper known before the first flush

        self.engine = engine
        self._factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success, rolled back on any exception."""
        session = self._factory()
        try:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (deferred on SQLite), always rolled back."""
        session = self._factory()
        try:
            session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable
