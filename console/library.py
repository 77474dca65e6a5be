"""The one place the console imports the library's services (creditlines.*): the pages call
these names and nothing else, so a move inside the library is re-pointed here only.

Nothing here decides a rule: each name is the library's own function."""

from __future__ import annotations

from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.auth.models import ApiKey
from creditlines.auth.service import BOOTSTRAP_ADMIN_ID, Principal, authenticate, authorise
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.errors import CreditLinesError, Forbidden, NotFound, Unauthenticated, ValidationFailed
from creditlines.jobs.listings import EXPIRING_FIELDS, OVER_LIMIT_FIELDS, expiring, over_limit, to_csv
from creditlines.ledger.browse import recent_entries, search_resellers
from creditlines.ledger.service import (
    availability,
    check_eligibility,
    lift_hold,
    place_hold,
    require_distributor,
    reseller_summary,
    set_base_limit,
    terminate,
)
from creditlines.money import for_people, from_minor, parse_amount, to_minor
from creditlines.partnerships.service import require_admitted
from creditlines.programmes.history import programme_history
from creditlines.programmes.service import enrol, get_programme, list_programmes, programme_lines, view
from creditlines.tenants.service import list_distributors, list_vendors

__all__ = [
    "BOOTSTRAP_ADMIN_ID", "EXPIRING_FIELDS", "OVER_LIMIT_FIELDS", "CreditLinesError", "Forbidden", "NotFound",
    "Principal", "Unauthenticated", "UnitOfWork", "ValidationFailed", "authenticate", "authorise", "availability",
    "check_eligibility", "clock", "enrol", "expiring", "for_people", "from_minor", "get_programme", "get_settings",
    "lift_hold", "list_distributors", "list_programmes", "list_vendors", "over_limit", "parse_amount",
    "place_hold", "programme_history", "programme_lines", "recent_entries", "require_admitted",
    "require_distributor", "reseller_summary", "retry_transient", "search_resellers", "set_base_limit",
    "stored_key", "terminate", "to_csv", "to_minor", "validation", "view",
]


def stored_key(session: Session, key_id: str) -> tuple[Principal, str] | None:
    """A key still valid (not revoked) by its id, with what identifies its secret (the stored
    hash; for the bootstrap admin, the configured key). ``None`` when it is no longer valid."""
    if key_id == BOOTSTRAP_ADMIN_ID:
        admin_key = get_settings().admin_key
        return (Principal(key_id=BOOTSTRAP_ADMIN_ID, role="admin"), admin_key) if admin_key else None
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    return (Principal(key_id=row.id, role=row.role, distributor_id=row.distributor_id, vendor_id=row.vendor_id),
            row.secret_hash)
