"""The one place the decisions write to the reseller's ledger (the ledger's own entry writer).

Kinds written here: ``limit_requested``, ``limit_request_approved``, ``limit_request_rejected``,
``limit_request_expired``, ``nomination_created``, ``nomination_approved``,
``nomination_rejected``, ``insurance_set``. None of them carries a balance change (no
``line_id``), so the fold and ``verify`` are unaffected; the limit changes themselves are the
ledger's ordinary ``limit_set`` entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from creditlines.ledger import service as ledger
from creditlines.ledger.models import LedgerEntry, Reseller


def record(session: Session, reseller: Reseller, *, kind: str, actor: str, at: datetime,
           reason: str | None = None, amount_minor: int | None = None,
           details: dict[str, Any] | None = None) -> LedgerEntry:
    """Append one entry to the (locked) reseller's ledger."""
    return ledger._entry(session, reseller, kind=kind, actor=actor, at=at, reason=reason,
                         amount_minor=amount_minor, details=details)
