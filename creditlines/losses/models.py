"""Tables of the losses (SPEC §20, §21): defaults, write-offs and their parts, claims, statements.

Amounts are integer minor units; every row carries its distributor first. ``reseller_default``,
``write_off`` and ``write_off_part`` are facts that are never rewritten (append-only on both
databases); a claim changes once, when it is settled; ``funder_statement`` records the digest of
each statement the first time it is issued, so that ``creditlines statements verify`` can prove
a later recomputation gives the same chain.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from creditlines.db.base import Base, UTCDateTime

FUNDER_KINDS = ("vendor", "financier", "distributor")  # who carried a written-off allocation
CLAIM_KINDS = ("vendor", "financier", "insurer")  # on whom a claim is opened
CLAIM_STATUSES = ("open", "paid", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ResellerDefault(Base):
    """A reseller declared in default: terminated, and marked so that its debt may be written off."""

    __tablename__ = "reseller_default"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    declared_on: Mapped[date] = mapped_column(Date)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    declared_by: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(BigInteger)  # the reseller_defaulted ledger entry

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
    )


class WriteOff(Base):
    """One write-off of a reseller in default, identified by the officer's ``reference``."""

    __tablename__ = "write_off"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    # The drawings asked for, as sorted JSON (null: every drawing with outstanding): the body's key.
    requested: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )


class WriteOffPart(Base):
    """What one allocation lost in a write-off, with its funder and, for the base line, the part
    the insurer covered (under the cover decision ``cover_seq`` in force on ``invoice_date``)."""

    __tablename__ = "write_off_part"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    write_off_reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    drawing_reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    line_kind: Mapped[str] = mapped_column(String(16))
    funder_kind: Mapped[str] = mapped_column(String(16))
    funder: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    invoice_date: Mapped[date] = mapped_column(Date)
    insured_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    insurer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cover_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "write_off_reference"],
            ["write_off.distributor_id", "write_off.reseller_id", "write_off.reference"],
        ),
        CheckConstraint(_in("funder_kind", FUNDER_KINDS), name="funder_kind"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("insured_minor >= 0 AND insured_minor <= amount_minor", name="insured_range"),
        CheckConstraint("funder_kind = 'distributor' OR insured_minor = 0", name="insured_only_base"),
    )


class Claim(Base):
    """What the distributor claims from the one who bears a loss: a vendor, a financier, an insurer."""

    __tablename__ = "claim"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64))
    write_off_reference: Mapped[str] = mapped_column(String(100))
    funder_kind: Mapped[str] = mapped_column(String(16))
    funder: Mapped[str] = mapped_column(String(200))
    vendor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the vendor's own claims
    written_off_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    indemnity_rate_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)  # insurer claims
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int] = mapped_column(BigInteger)  # the claim_opened ledger entry
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    settled_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    amount_paid_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    settlement_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["distributor_id", "reseller_id", "write_off_reference"],
            ["write_off.distributor_id", "write_off.reseller_id", "write_off.reference"],
        ),
        CheckConstraint(_in("funder_kind", CLAIM_KINDS), name="funder_kind"),
        CheckConstraint(_in("status", CLAIM_STATUSES), name="status"),
        CheckConstraint("amount_minor >= 0 AND amount_minor <= written_off_minor", name="amount_range"),
        CheckConstraint("(funder_kind = 'vendor') = (vendor_id IS NOT NULL)", name="vendor_id"),
        CheckConstraint(
            "amount_paid_minor IS NULL OR (amount_paid_minor >= 0 AND amount_paid_minor <= amount_minor)",
            name="amount_paid_range",
        ),
        CheckConstraint("(status = 'open') = (settled_at IS NULL)", name="settled_at"),
        Index("ix_claim_status", "distributor_id", "status"),
        Index("ix_claim_vendor", "vendor_id", "created_at"),
        Index("ix_claim_write_off", "distributor_id", "reseller_id", "write_off_reference"),
    )


class FunderStatement(Base):
    """The digest of a funder's monthly statement, recorded when it was first issued."""

    __tablename__ = "funder_statement"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    funder: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    digest: Mapped[str] = mapped_column(String(64))
    previous_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
