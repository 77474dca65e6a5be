"""Vendor programmes and the purchase events that trigger them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from creditlines.db.base import Base, UTCDateTime, string_enum


class ProgrammeKind(StrEnum):
    STANDING = "standing"  # enrolment grants lines that run until the programme's ends_on
    PURCHASE_TRIGGERED = "purchase_triggered"  # a qualifying purchase event grants a line of N months


class ProgrammeStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # final: grants nothing more; existing lines run to their end


PROGRAMME_KINDS = tuple(kind.value for kind in ProgrammeKind)
PROGRAMME_STATUSES = tuple(status.value for status in ProgrammeStatus)


class Programme(Base):
    """A vendor's programme at one distributor. ``id`` reads ``<code>@<distributor_id>``."""

    __tablename__ = "programme"

    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(String(64), ForeignKey("vendor.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(130), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ProgrammeKind] = mapped_column(string_enum(24, ProgrammeKind))
    line_limit_minor: Mapped[int] = mapped_column(BigInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    usable_for: Mapped[str] = mapped_column(String(16))
    on_expiry: Mapped[str] = mapped_column(String(16))
    max_beneficiaries: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_total_limit_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    trigger_category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    trigger_min_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    line_duration_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[ProgrammeStatus] = mapped_column(string_enum(16, ProgrammeStatus), default=ProgrammeStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint("kind IN ('standing', 'purchase_triggered')", name="kind"),
        CheckConstraint("status IN ('active', 'closed')", name="status"),
        CheckConstraint("usable_for IN ('any', 'vendor_products')", name="usable_for"),
        CheckConstraint("on_expiry IN ('transfer_to_base', 'run_off')", name="on_expiry"),
        CheckConstraint("line_limit_minor > 0", name="line_limit_positive"),
        CheckConstraint("ends_on >= starts_on", name="window"),
        CheckConstraint("max_beneficiaries IS NULL OR max_beneficiaries >= 0", name="max_beneficiaries"),
        CheckConstraint("max_total_limit_minor IS NULL OR max_total_limit_minor >= 0", name="max_total_limit"),
        CheckConstraint(
            "(kind = 'standing' AND trigger_category IS NULL AND trigger_min_minor IS NULL"
            " AND line_duration_months IS NULL)"
            " OR (kind = 'purchase_triggered' AND trigger_category IS NOT NULL AND trigger_min_minor > 0"
            " AND line_duration_months >= 1)",
            name="kind_shape",
        ),
    )


class PurchaseEvent(Base):
    """An ERP purchase event, stored with the answer it got: a re-delivery gets the same answer."""

    __tablename__ = "purchase_event"

    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64))
    vendor_id: Mapped[str] = mapped_column(String(64))
    product_category: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by: Mapped[str] = mapped_column(String(100))
    results: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )
