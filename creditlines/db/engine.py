"""Engines and units of work.

The request (or the job) owns the transaction: services flush, the unit of work commits.

SQLite: the driver is put in autocommit mode and we emit ``BEGIN`` ourselves, so that a
write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock up front and
waits for it with the busy timeout, instead of failing later with "database is locked"
when a deferred reader tries to write). Read transactions use a plain deferred ``BEGIN``
and run alongside writers thanks to WAL.

PostgreSQL: READ COMMITTED; write paths serialise per reseller with ``SELECT … FOR NO KEY UPDATE``
(it excludes every other writer of the row but not the ``KEY SHARE`` lock a child row's foreign
key takes). Lock order, everywhere: the partnership (``FOR SHARE``), then programmes by id, then
resellers by id. Every row a decision rests on is read *after* its lock, with
:func:`locked`/:func:`fresh`, which refresh objects the session already holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, QueuePool, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from creditlines.db.replica import Replica
from creditlines.db.urls import normalize, with_defaults

SQLITE_BUSY_TIMEOUT_S = 60


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None, echo: bool = False) -> Engine:
    """``pool_size`` connections kept open; ``max_overflow`` more at busy moments, closed when
    returned (default: twice ``pool_size`` on PostgreSQL, four times on SQLite)."""
    parsed = make_url(normalize(url))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size * 4 if max_overflow is None else max_overflow,
        )
        _install_sqlite_transactions(engine)
        return engine
    # Pre-ping (one round trip per checkout, not on the hot paths, which have their own pool):
    # after a failover a pooled connection to the old primary is replaced before it is used, and
    # the URL's hosts are tried again (with target_session_attrs=read-write: the new primary).
    # A disconnect seen by a statement invalidates the whole pool. Connect timeouts and TCP
    # keepalives from creditlines.db.urls bound how long a vanished machine can hold a request.
    engine = create_engine(
        with_defaults(parsed),
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size * 2 if max_overflow is None else max_overflow,
        pool_recycle=3600,
        pool_pre_ping=True,
        pool_timeout=10,
    )
    event.listen(engine, "handle_error", _read_only_is_a_disconnect)
    return engine


def _read_only_is_a_disconnect(context: Any) -> None:
    """A write refused because the server is read-only means the host the pool reached is no
    longer the primary (demoted after a failover): treat it as a disconnect, so that the pool
    drops its connections and the next checkout looks for the primary again."""
    if getattr(context.original_exception, "sqlstate", None) == "25006":
        context.is_disconnect = True


def _install_sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:  # pragma: no cover - exercised by every test
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def fresh(session: Session, stmt: Select[Any]) -> Select[Any]:
    """``stmt`` made to overwrite any object of the session's identity map with the row as the
    database has it now. SQLAlchemy otherwise hands back the object it already holds, with the
    values read before a lock was taken. Pending changes are flushed first so none is lost."""
    session.flush()
    return stmt.execution_options(populate_existing=True)


def locked(session: Session, stmt: Select[Any]) -> Select[Any]:
    """``stmt`` with the row lock of a write path (PostgreSQL: ``FOR NO KEY UPDATE``; SQLite's
    ``BEGIN IMMEDIATE`` already holds the database's write lock), read fresh."""
    if is_postgresql(session):
        stmt = stmt.with_for_update(key_share=True)
    return fresh(session, stmt)


def is_postgresql(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


class UnitOfWork:
    """Session factories bound to one engine, and to the read replica's when there is one
    (``replica_url``: CREDITLINES_READ_DATABASE_URL, see :meth:`replica`). Whoever makes one
    imports ``creditlines.models`` first (the entry points do), so every mapper is known before
    the first flush."""

    def __init__(self, engine: Engine, replica_url: str | None = None) -> None:
        self.engine = engine
        # Distributors never change currency or time zone (create_distributor refuses it), so
        # each process keeps what it has read of them.
        self.distributors: dict[str, Any] = {}
        self._factory = sessionmaker(
            bind=engine, expire_on_commit=False, autoflush=False, info={"distributors": self.distributors}
        )
        self._read_factory = self._factory
        self._read_options: dict[str, Any] = {"sqlite_begin": "DEFERRED"}
        self.read_engine: Engine | None = None
        if engine.dialect.name == "postgresql":
            # Reads get their own pool whose connections stay in autocommit (switching a pooled
            # connection back and forth would cost round trips of its own).
            size = cast(QueuePool, engine.pool).size()
            self.read_engine = create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_recycle=3600,
                pool_size=size,
                max_overflow=size * 2,
                pool_pre_ping=True,
                pool_timeout=10,
            )
            self._read_factory = sessionmaker(
                bind=self.read_engine, expire_on_commit=False, autoflush=False, info={"distributors": self.distributors}
            )
            self._read_options = {}
        self.replica_set = Replica(replica_url, self.distributors) if replica_url else None

    @contextmanager
    def snapshot(self, *, replica: bool = False) -> Iterator[Session]:
        """A read-only transaction that sees one snapshot across all its statements (REPEATABLE
        READ on PostgreSQL, a deferred transaction under WAL on SQLite): for `verify`, the
        listings, and anything that streams with server-side cursors. ``replica``: on the read
        replica when one is configured and answers (the reports), else on the primary."""
        session = self.replica_set.session(snapshot=True) if replica and self.replica_set else None
        if session is not None:
            try:
                session.execute(text("SET TRANSACTION READ ONLY"))
                yield session
            finally:
                session.close()
            return
        session = self._factory()
        try:
            if self.engine.dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                session.execute(text("SET TRANSACTION READ ONLY"))
            else:
                session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()
        if self.replica_set is not None:
            self.replica_set.dispose()

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
        """A read-only session: a deferred transaction on SQLite; on PostgreSQL autocommit, so
        each statement reads one committed state with no BEGIN/ROLLBACK round trips (the hot
        reads fetch a reseller and its lines in a single statement)."""
        session = self._read_factory()
        try:
            if self._read_options:
                session.connection(execution_options=self._read_options)
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable

    @contextmanager
    def replica(self) -> Iterator[Session]:
        """:meth:`read`, on the read replica when one is configured and answers: listings,
        reports, the console's searches and the partner managers' programme views (SPEC §22).
        Nothing that decides reads here. A replica that does not answer is left alone for a few
        seconds and the reads go to the primary (docs/DECISIONS.md, "Read replicas")."""
        session = self.replica_set.session() if self.replica_set is not None else None
        if session is None:
            with self.read() as primary:
                yield primary
            return
        try:
            yield session
        finally:
            session.close()
