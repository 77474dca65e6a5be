"""The read replica (``CREDITLINES_READ_DATABASE_URL``, SPEC §22): its pool, its lag, and what
happens when it does not answer.

Listings, reports, the console's searches and the partner managers' programme views read here;
eligibility, drawings and everything that decides read the primary. A replica that refuses or
times out a connection is marked down for :data:`RETRY_AFTER_S` seconds: meanwhile those reads go
to the primary (slower for the primary, never an error for the reader), then the replica is tried
again. A replica that fails in the middle of a statement fails that one request (503
``database_unavailable``, which the caller retries); the next goes to the primary.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from creditlines.db.urls import normalize, with_defaults

log = logging.getLogger("creditlines.db")

RETRY_AFTER_S = 5.0
POOL_SIZE = 5
# Seconds behind the primary: 0 when the replica has replayed all it received, else the age of
# the last transaction it replayed. NULL on a server that is not a standby (then: no lag).
LAG = text(
    "SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


class Replica:
    """One per unit of work; thread-safe."""

    def __init__(self, url: str, distributors: dict[str, Any]) -> None:
        parsed = make_url(normalize(url))
        if parsed.get_backend_name() != "postgresql":
            raise ValueError("CREDITLINES_READ_DATABASE_URL must be a PostgreSQL URL (a streaming replica)")
        self.engine: Engine = create_engine(
            with_defaults(parsed),
            isolation_level="AUTOCOMMIT",
            pool_recycle=3600,
            pool_size=POOL_SIZE,
            max_overflow=POOL_SIZE * 2,
            pool_pre_ping=True,
            pool_timeout=10,
        )
        info = {"distributors": distributors}
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=False, info=info)
        snapshots = self.engine.execution_options(isolation_level="REPEATABLE READ")
        self._snapshot_factory = sessionmaker(bind=snapshots, expire_on_commit=False, autoflush=False, info=info)
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def session(self, *, snapshot: bool = False) -> Session | None:
        """A session with its connection on the replica, or None when the replica is (marked) down."""
        if self.is_down:
            return None
        session = (self._snapshot_factory if snapshot else self._factory)()
        try:
            session.connection()
        except OperationalError as exc:
            session.close()
            self._mark_down(exc)
            return None
        return session

    def _mark_down(self, exc: BaseException) -> None:
        from creditlines import metrics

        with self._lock:
            self._down_until = time.monotonic() + RETRY_AFTER_S
        metrics.REPLICA_UP.set(0)
        metrics.REPLICA_FALLBACKS.inc()
        log.warning("read replica unavailable, reading from the primary for %.0f s: %s", RETRY_AFTER_S, exc)

    def measure_lag(self) -> float | None:
        """The replica's lag in seconds (also in /metrics), None when it does not answer."""
        from creditlines import metrics

        try:
            with self.engine.connect() as conn:
                in_recovery, lag = conn.execute(LAG).one()
        except OperationalError as exc:
            self._mark_down(exc)
            return None
        seconds = float(lag or 0)
        self._down_until = 0.0  # answering again: its reads come back at once
        metrics.REPLICA_UP.set(1)
        if not in_recovery:  # promoted, or pointed at a primary: it serves the reads, but say so
            log.warning("CREDITLINES_READ_DATABASE_URL points at a server that is not a standby")
        metrics.REPLICA_LAG.set(seconds)
        return seconds

    def dispose(self) -> None:
        self.engine.dispose()
