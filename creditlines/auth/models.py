"""API keys: stored hashed, shown once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from creditlines.db.base import Base, UTCDateTime

ROLES = ("admin", "credit_officer", "integration", "partner_manager")


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # SHA-256 of the secret part: the secret is 256 random bits, so a fast hash is safe
    # (no dictionary to attack) and keeps the per-request check cheap.
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    distributor_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("distributor.id"), nullable=True)
    vendor_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("vendor.id"), nullable=True)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'credit_officer', 'integration', 'partner_manager')", name="role"),
        CheckConstraint(
            "(role = 'admin' AND distributor_id IS NULL AND vendor_id IS NULL)"
            " OR (role IN ('credit_officer', 'integration') AND distributor_id IS NOT NULL AND vendor_id IS NULL)"
            " OR (role = 'partner_manager' AND vendor_id IS NOT NULL AND distributor_id IS NULL)",
            name="scope",
        ),
    )


class ConsoleSignOut(Base):
    """A console session ended by its sign-out: its cookie is refused from then on, even a copy.

    Keyed by a hash of the session's own random token (the cookie is never stored); kept until the
    session would have expired anyway, then deleted by the next sign-out."""

    __tablename__ = "console_sign_out"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    signed_out_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
