"""A distributor's admission of a vendor, and its append-only history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from creditlines.db.base import Base, UTCDateTime

PARTNERSHIP_STATUSES = ("active", "ended")


class Partnership(Base):
    """Vendor ``vendor_id`` may run programmes at distributor ``distributor_id`` while ``active``.

    ``max_line_limit_minor`` caps the limit of any line the vendor funds there (none: no cap);
    ``requires_approval`` makes enrolments nominations the distributor decides. ``seq`` counts
    the rows of :class:`PartnershipEntry` that record every change.
    """

    __tablename__ = "partnership"

    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(String(64), ForeignKey("vendor.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    max_line_limit_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'ended')", name="status"),
        CheckConstraint("max_line_limit_minor IS NULL OR max_line_limit_minor >= 0", name="max_line_limit"),
        CheckConstraint("(status = 'ended') = (ended_at IS NOT NULL)", name="ended_at"),
    )


class PartnershipEntry(Base):
    """One immutable fact of a partnership's history (append-only, like ``ledger_entry``)."""

    __tablename__ = "partnership_entry"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))  # admitted, updated, ended, readmitted
    status_after: Mapped[str] = mapped_column(String(16))
    max_line_limit_after_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    requires_approval_after: Mapped[bool] = mapped_column(Boolean)
    note_after: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "vendor_id"], ["partnership.distributor_id", "partnership.vendor_id"]),
    )
