"""Resellers, lines, drawings, allocations, releases and the append-only ledger.

Every table carries ``distributor_id`` first in its primary key and its foreign keys, so
the schema can be distributed by distributor without change. Amounts are
integer minor units (``*_minor``); balances live on the line rows and change in the same
transaction as the ledger entries behind them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from creditlines import eligibility as elig
from creditlines.db.base import Base, UTCDateTime, string_enum


class ResellerStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"  # drawings refused until lifted; releases accepted
    TERMINATED = "terminated"  # final


class LineKind(StrEnum):
    BASE = "base"  # funded by the distributor, one per reseller, no end
    PROGRAMME = "programme"  # funded by a vendor through a programme, until valid_until
    FINANCING = "financing"  # funded by a financier for one order (its order_reference), SPEC §17


class LineStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class UsableFor(StrEnum):
    ANY = "any"
    VENDOR_PRODUCTS = "vendor_products"  # only orders of the funding vendor's products


class OnExpiry(StrEnum):
    TRANSFER_TO_BASE = "transfer_to_base"  # what is still drawn moves onto the base line
    RUN_OFF = "run_off"  # what is still drawn stays owed on the closed line


class ReleaseKind(StrEnum):
    PAYMENT = "payment"
    CANCELLATION = "cancellation"
    CREDIT_NOTE = "credit_note"
    FINANCIER_PAYMENT = "financier_payment"  # frees the drawing's financing allocation first


class DrawingStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    HELD = "held"  # a held order (SPEC §16): waits for credit, draws nothing
    CANCELLED = "cancelled"  # a held order cancelled by the ERP
    EXPIRED = "expired"  # a held order not released within the distributor's hold_days


RESELLER_STATUSES = tuple(m.value for m in ResellerStatus)
LINE_KINDS = tuple(m.value for m in LineKind)
LINE_STATUSES = tuple(m.value for m in LineStatus)
USABLE_FOR = tuple(m.value for m in UsableFor)
ON_EXPIRY = tuple(m.value for m in OnExpiry)
RELEASE_KINDS = tuple(m.value for m in ReleaseKind)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Reseller(Base):
    __tablename__ = "reseller"

    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(string_enum(16, ResellerStatus), default=ResellerStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Last ledger sequence number used for this reseller; bumped under the reseller lock.
    ledger_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Its held orders (drawings in status 'held'), kept under the reseller lock: a change that
    # frees credit re-checks held orders only when this is above 0 (no query otherwise).
    held_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # SPEC §18 (migration 0011): the override of the distributor's payment terms (null: theirs),
    # and since when the overdue stop is known to hold (set by the refusal that finds it or by the
    # nightly job, cleared by the payment that ends it: the two events fire once per episode).
    payment_terms_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    overdue_stop_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint(_in("status", RESELLER_STATUSES), name="status"),
        CheckConstraint("ledger_seq >= 0", name="ledger_seq_nonnegative"),
        CheckConstraint("held_count >= 0", name="held_count_nonnegative"),
        CheckConstraint(
            "payment_terms_days IS NULL OR payment_terms_days BETWEEN 0 AND 365", name="payment_terms_days_range"
        ),
    )


class Line(Base):
    __tablename__ = "line"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(string_enum(16, LineKind))
    programme_id: Mapped[str | None] = mapped_column(String(130), nullable=True)
    vendor_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("vendor.id"), nullable=True)
    funder: Mapped[str] = mapped_column(String(64))
    limit_minor: Mapped[int] = mapped_column(BigInteger)
    drawn_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    usable_for: Mapped[str] = mapped_column(string_enum(16, UsableFor), default=UsableFor.ANY)
    on_expiry: Mapped[str | None] = mapped_column(string_enum(16, OnExpiry), nullable=True)
    status: Mapped[str] = mapped_column(string_enum(16, LineStatus), default=LineStatus.ACTIVE)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Ledger sequence of the grant: a strict "oldest grant first" order within a reseller.
    grant_seq: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A financing line: the reference of the one drawing that may use it.
    order_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        CheckConstraint(_in("kind", LINE_KINDS), name="kind"),
        CheckConstraint(_in("status", LINE_STATUSES), name="status"),
        CheckConstraint(_in("usable_for", USABLE_FOR), name="usable_for"),
        CheckConstraint("on_expiry IS NULL OR " + _in("on_expiry", ON_EXPIRY), name="on_expiry"),
        CheckConstraint("limit_minor >= 0", name="limit_nonnegative"),
        CheckConstraint("drawn_minor >= 0", name="drawn_nonnegative"),
        # A vendor-funded line is never drawn above its limit (TigerBeetle-style guard).
        CheckConstraint("kind = 'base' OR drawn_minor <= limit_minor", name="programme_within_limit"),
        CheckConstraint(
            "(kind = 'base' AND vendor_id IS NULL AND valid_until IS NULL AND status = 'active')"
            " OR (kind = 'programme' AND vendor_id IS NOT NULL AND valid_until IS NOT NULL"
            " AND on_expiry IS NOT NULL)"
            " OR (kind = 'financing' AND vendor_id IS NULL AND valid_until IS NOT NULL AND on_expiry IS NOT NULL"
            " AND order_reference IS NOT NULL)",
            name="kind_shape",
        ),
        Index("ix_line_reseller", "distributor_id", "reseller_id"),
        Index(
            "uq_line_one_base_per_reseller",
            "distributor_id",
            "reseller_id",
            unique=True,
            sqlite_where=text("kind = 'base'"),
            postgresql_where=text("kind = 'base'"),
        ),
        Index("ix_line_expiry", "distributor_id", "status", "valid_until"),
        Index("ix_line_programme", "distributor_id", "vendor_id", "programme_id", "status"),
        ForeignKeyConstraint(
            ["distributor_id", "vendor_id", "programme_id"],
            ["programme.distributor_id", "programme.vendor_id", "programme.id"],
        ),
    )

    def state(self) -> elig.LineState:
        """The line as the pure rules of :mod:`creditlines.eligibility` see it."""
        return elig.LineState(
            id=self.id,
            kind=self.kind,
            funder=self.funder,
            programme_id=self.programme_id,
            vendor_id=self.vendor_id,
            usable_for=self.usable_for,
            on_expiry=self.on_expiry,
            status=self.status,
            limit=self.limit_minor,
            drawn=self.drawn_minor,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            grant_seq=self.grant_seq,
            granted_at=self.granted_at,
            order_reference=self.order_reference,
        )


class Drawing(Base):
    __tablename__ = "drawing"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_minor: Mapped[int] = mapped_column(BigInteger)
    vendor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    # A held order (SPEC §16): when it was held, when it expires, why (codes, comma-separated),
    # the shortfall then, and when it was released, cancelled or expired.
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hold_reasons: Mapped[str | None] = mapped_column(String(100), nullable=True)
    hold_shortfall_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hold_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hold_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # SPEC §18 (migration 0011): the invoice's local date and the day it is due (due_on >= invoice_date).
    invoice_date: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("due_on >= invoice_date", name="due_after_invoice"),
        # The open drawings by due date: the overdue stop's one range sum (creditlines.ledger.terms).
        Index(
            "ix_drawing_open_due",
            "distributor_id",
            "reseller_id",
            "due_on",
            sqlite_where=text("outstanding_minor > 0"),
            postgresql_where=text("outstanding_minor > 0"),
            postgresql_include=["outstanding_minor"],
        ),
        CheckConstraint(
            "outstanding_minor >= 0 AND outstanding_minor <= amount_minor",
            name="outstanding_range",
        ),
        CheckConstraint(
            "(status = 'open' AND outstanding_minor > 0)"
            " OR (status IN ('settled', 'written_off') AND outstanding_minor = 0)"
            " OR (status IN ('held', 'cancelled', 'expired') AND outstanding_minor = 0 AND held_at IS NOT NULL)",
            name="status",
        ),
        Index(
            "ix_drawing_held",
            "distributor_id",
            "reseller_id",
            "held_at",
            "reference",
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
        Index(
            "ix_drawing_held_by_distributor",
            "distributor_id",
            "held_at",
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
    )


class Allocation(Base):
    """The part of a drawing carried by one line. ``outstanding`` is what is still drawn."""

    __tablename__ = "allocation"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    drawing_reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    funder: Mapped[str] = mapped_column(String(64))
    # Allocated when the drawing was posted (0 for a base allocation created by a transfer).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_minor: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "drawing_reference"],
            ["drawing.distributor_id", "drawing.reseller_id", "drawing.reference"],
        ),
        ForeignKeyConstraint(["distributor_id", "line_id"], ["line.distributor_id", "line.id"]),
        CheckConstraint("amount_minor >= 0", name="amount_nonnegative"),
        CheckConstraint("outstanding_minor >= 0", name="outstanding_nonnegative"),
        Index("ix_allocation_line", "distributor_id", "line_id"),
    )


class Release(Base):
    __tablename__ = "release"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    drawing_reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(string_enum(24, ReleaseKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "drawing_reference"],
            ["drawing.distributor_id", "drawing.reseller_id", "drawing.reference"],
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(_in("kind", RELEASE_KINDS), name="kind"),
    )


class Financing(Base):
    """A vendor financing of one order (SPEC §17): its line (kind ``financing``) carries the
    order's drawing first; the financier pays within ``pay_within_hours`` of the drawing, or the
    remainder moves to the base line and the financier is recorded late (``overdue_at``)."""

    __tablename__ = "financing"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    financier: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    order_reference: Mapped[str] = mapped_column(String(100))
    pay_within_hours: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    overdue_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        ForeignKeyConstraint(["distributor_id", "line_id"], ["line.distributor_id", "line.id"]),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("pay_within_hours BETWEEN 1 AND 720", name="pay_within_hours_range"),
        Index("ix_financing_financier", "distributor_id", "financier", "created_at"),
        Index(
            "ix_financing_due",
            "distributor_id",
            "due_at",
            sqlite_where=text("paid_at IS NULL AND overdue_at IS NULL AND due_at IS NOT NULL"),
            postgresql_where=text("paid_at IS NULL AND overdue_at IS NULL AND due_at IS NOT NULL"),
        ),
    )


class LedgerEntry(Base):
    """One immutable fact. Balances on the line rows are the fold of these entries.

    Line entries carry what changed on one line: ``drawn_delta_minor`` (signed),
    ``limit_after_minor``, ``valid_until_after``, ``status_after``. Reseller entries
    (``line_id`` null) carry the reseller's ``status_after``. Nothing here is ever updated
    or deleted: a trigger refuses it on both databases.
    """

    __tablename__ = "ledger_entry"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    line_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    drawing_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    release_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    drawn_delta_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    limit_after_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    valid_until_after: Mapped[date | None] = mapped_column(Date, nullable=True)
    status_after: Mapped[str | None] = mapped_column(String(16), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        # The base-limit changes of one reseller over a window (the four-eyes baseline, SPEC §23),
        # without reading its drawings.
        Index(
            "ix_ledger_entry_limit_set",
            "distributor_id",
            "reseller_id",
            "at",
            sqlite_where=text("kind = 'limit_set'"),
            postgresql_where=text("kind = 'limit_set'"),
        ),
        # The entries since a moment (the ageing report on a past date), PostgreSQL only: a BRIN
        # index, the table being append-only and so in the order of ``at`` (migration 0014).
        Index("ix_ledger_entry_at", "at", postgresql_using="brin", postgresql_with={"autosummarize": "on"}).ddl_if(
            dialect="postgresql"
        ),
    )
