"""The outbox (``event``, append-only), webhook endpoints and their delivery log.

``event.txid`` is the id of the writing transaction on PostgreSQL (``pg_current_xact_id()``,
its default) and 0 on SQLite: feeds read in ``(txid, id)`` order below the oldest transaction
still running, so an event committed late by a slower transaction is never skipped
(docs/DECISIONS.md, "Events in commit order").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Identity, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from creditlines.db.base import Base, UTCDateTime

# A rowid alias on SQLite (monotonic under its single writer); an identity column on PostgreSQL.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    __tablename__ = "event"

    # Every event is of one distributor (SPEC §10), first in its key; ids are global (a sequence).
    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    vendor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reseller_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    programme_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Set on events written at most once (line.expiring): a unique key, so a replay writes nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    data: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_event_distributor_order", "distributor_id", "txid", "id"),
        Index(
            "ix_event_vendor_order",
            "vendor_id",
            "txid",
            "id",
            postgresql_where=text("vendor_id IS NOT NULL"),
            sqlite_where=text("vendor_id IS NOT NULL"),
        ),
        Index(
            "uq_event_dedupe_key",
            "distributor_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
            sqlite_where=text("dedupe_key IS NOT NULL"),
        ),
    )


class Webhook(Base):
    __tablename__ = "webhook"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    types: Mapped[str] = mapped_column(Text)  # a JSON list of event types
    distributor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vendor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Needed to sign: as given out, or Fernet-encrypted ("fernet:…") when CREDITLINES_SECRET_KEY
    # is set (creditlines/events/secrets.py). After a rotation the previous one still signs
    # until previous_secret_until (SPEC §23: both signatures for 24 h).
    secret: Mapped[str] = mapped_column(String(500))
    previous_secret: Mapped[str | None] = mapped_column(String(500), nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Delivery state, changed only by the sender: the last event delivered (in feed order) ...
    cursor_txid: Mapped[int] = mapped_column(BigInteger)
    cursor_id: Mapped[int] = mapped_column(BigInteger)
    # ... the failing streak of the event at the head of the queue ...
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # ... and the lease of the sender working on it (several senders never deliver at once).
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Round robin: raised at each claim; endpoints with something to send are claimed lowest first.
    turn: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        CheckConstraint("distributor_id IS NULL OR vendor_id IS NULL", name="one_scope"),
        Index("ix_webhook_due", "status", "next_attempt_at"),
    )


class WebhookAttempt(Base):
    """One delivery attempt (the deliveries log): append-only."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(EventId, Identity(), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | failed
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)  # before 0009: free text, never shown
    # The coarse outcome (SPEC §23): timeout, connection_failed, tls_error, refused_address, http_<status>.
    result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("outcome IN ('delivered', 'failed')", name="outcome"),
        Index("ix_webhook_attempt_webhook", "webhook_id", "id"),
    )
