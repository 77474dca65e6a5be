"""Tables of the credit decisions: policy per distributor, limit requests, nominations, cover.

Amounts are integer minor units, like every other table; every row carries its distributor
first. ``insurance_cover`` is append-only (triggers on both databases, no UPDATE/DELETE grant
for the app role): the cover history is a fact that is never rewritten.
"""

from __future__ import annotations

from datetime import date, datetime

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

from creditlines.db.base import Base, UTCDateTime

CAP_POLICIES = ("none", "cover_plus_discretionary")
REQUEST_STATUSES = ("pending", "approved", "rejected", "expired", "superseded")
POLICY_REQUEST_KINDS = ("credit_policy", "insurance_cover")
POLICY_REQUEST_STATUSES = ("pending", "approved", "rejected", "expired")
NOMINATION_STATUSES = ("pending", "approved", "rejected")
REFUSAL_CODES = ("declined", "credit_risk", "insurer_cover", "commercial")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CreditPolicy(Base):
    """A distributor's rules for base limits; no row means no threshold and no cap."""

    __tablename__ = "credit_policy"

    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    approval_threshold_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    base_cap_policy: Mapped[str] = mapped_column(String(32), default="none")
    discretionary_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # The share of an insured loss the insurer indemnifies, in basis points (SPEC §20; 9000 = 90 %).
    indemnity_rate_bp: Mapped[int] = mapped_column(Integer, default=9000, server_default="9000")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint(_in("base_cap_policy", CAP_POLICIES), name="base_cap_policy"),
        CheckConstraint(
            "approval_threshold_minor IS NULL OR approval_threshold_minor >= 0", name="approval_threshold_nonnegative"
        ),
        CheckConstraint("discretionary_minor >= 0", name="discretionary_nonnegative"),
        CheckConstraint("indemnity_rate_bp BETWEEN 0 AND 10000", name="indemnity_rate_range"),
    )


class LimitRequest(Base):
    """A raise of a base limit waiting for a second officer key."""

    __tablename__ = "limit_request"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64))
    current_minor: Mapped[int] = mapped_column(BigInteger)
    requested_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_limit_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        CheckConstraint("requested_minor > current_minor AND current_minor >= 0", name="raise"),
        CheckConstraint(
            "decided_limit_minor IS NULL OR (decided_limit_minor >= 0 AND decided_limit_minor <= requested_minor)",
            name="decided_limit_range",
        ),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_at"),
        Index("ix_limit_request_status", "distributor_id", "status", "expires_at"),
    )


class Nomination(Base):
    """A vendor's enrolment of a reseller that the distributor decides (``requires_approval``)."""

    __tablename__ = "nomination"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(String(64))
    programme_id: Mapped[str] = mapped_column(String(130))
    reseller_id: Mapped[str] = mapped_column(String(64))
    limit_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    nominated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_limit_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    refusal_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    line_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        ForeignKeyConstraint(
            ["distributor_id", "vendor_id", "programme_id"],
            ["programme.distributor_id", "programme.vendor_id", "programme.id"],
        ),
        CheckConstraint(_in("status", NOMINATION_STATUSES), name="status"),
        CheckConstraint("refusal_code IS NULL OR " + _in("refusal_code", REFUSAL_CODES), name="refusal_code"),
        CheckConstraint("limit_minor > 0", name="limit_positive"),
        CheckConstraint(
            "decided_limit_minor IS NULL OR (decided_limit_minor > 0 AND decided_limit_minor <= limit_minor)",
            name="decided_limit_range",
        ),
        CheckConstraint("(status = 'approved') = (line_id IS NOT NULL)", name="line_when_approved"),
        Index("ix_nomination_status", "distributor_id", "status"),
        Index("ix_nomination_programme", "distributor_id", "vendor_id", "programme_id"),
        # One pending nomination per reseller and programme (a programme is its vendor's: two
        # vendors may use one code at a distributor): a second enrolment answers the first.
        Index(
            "uq_nomination_pending",
            "distributor_id",
            "vendor_id",
            "programme_id",
            "reseller_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class PolicyRequest(Base):
    """A change that loosens control (SPEC §23) waiting for a second officer key: a change of the
    credit policy (``kind`` ``credit_policy``) or a raise of a reseller's insurer cover
    (``insurance_cover``, ``reseller_id`` set). ``changes`` holds what is asked (JSON, amounts in
    minor units) and ``previous`` what those fields were when asked: an approval applies only
    while they still are (``policy_changed`` otherwise)."""

    __tablename__ = "policy_request"

    distributor_id: Mapped[str] = mapped_column(String(64), ForeignKey("distributor.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    reseller_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changes: Mapped[str] = mapped_column(Text)
    previous: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        CheckConstraint(_in("kind", POLICY_REQUEST_KINDS), name="kind"),
        CheckConstraint(_in("status", POLICY_REQUEST_STATUSES), name="status"),
        CheckConstraint("(kind = 'insurance_cover') = (reseller_id IS NOT NULL)", name="reseller_when_cover"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_at"),
        Index("ix_policy_request_status", "distributor_id", "status", "expires_at"),
    )


class InsuranceCover(Base):
    """One insurer decision on a reseller, in the order recorded (``seq`` is the ledger entry's).
    The current cover is the last row; ``cover_minor`` 0 means the cover was cancelled."""

    __tablename__ = "insurance_cover"

    distributor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reseller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    insurer: Mapped[str] = mapped_column(String(200))
    cover_minor: Mapped[int] = mapped_column(BigInteger)
    previous_cover_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decided_on: Mapped[date] = mapped_column(Date)
    # The local date the decision takes effect (SPEC §19); null (rows before 0012): ``decided_on``.
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        ForeignKeyConstraint(["distributor_id", "reseller_id"], ["reseller.distributor_id", "reseller.id"]),
        CheckConstraint("cover_minor >= 0", name="cover_nonnegative"),
        Index("ix_insurance_cover_decided_on", "distributor_id", "decided_on"),
    )
