"""Distributors (the tenants) and vendors (who fund programmes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
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

    __table_args__ = (
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        CheckConstraint("hold_days BETWEEN 1 AND 90", name="hold_days_range"),
    )


class Vendor(Base):
    __tablename__ = "vendor"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
