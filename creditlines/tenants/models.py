"""Distributors (the tenants) and vendors (who fund programmes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from creditlines.db.base import Base, UTCDateTime


class Distributor(Base):
    __tablename__ = "distributor"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Days a held order waits for credit before it expires (SPEC §16).
    hold_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    # Payment terms and the overdue stop (SPEC §18, migration 0011; creditlines.ledger.terms). Read
    # from the row by every decision, never from the per-process DistributorInfo cache: they change.
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    overdue_stop_after_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    overdue_stop_min_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        CheckConstraint("hold_days BETWEEN 1 AND 90", name="hold_days_range"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms_days_range"),
        CheckConstraint(
            "(overdue_stop_after_days IS NULL AND overdue_stop_min_minor IS NULL) OR "
            "(overdue_stop_after_days >= 0 AND overdue_stop_min_minor >= 0)",
            name="overdue_stop_shape",
        ),
    )


class Vendor(Base):
    __tablename__ = "vendor"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
