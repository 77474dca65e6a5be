"""The one place the console imports the library's services (creditlines.*): the pages call
these names and nothing else, so a move inside the library is re-pointed here only.

Nothing here decides a rule: each name is the library's own function."""

from __future__ import annotations

from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.auth.models import ApiKey
from creditlines.auth.service import BOOTSTRAP_ADMIN_ID, Principal, authenticate, authorise
from creditlines.auth.sessions import end as end_console_session
from creditlines.auth.sessions import ended as console_session_ended
from creditlines.config import get_settings
from creditlines.csvdoc import to_csv
from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions import browse as decisions_browse
from creditlines.decisions import insurance, limit_requests, policy, policy_requests, reports
from creditlines.decisions.models import REFUSAL_CODES, PolicyRequest
from creditlines.errors import CreditLinesError, Forbidden, NotFound, SameApprover, Unauthenticated, ValidationFailed
from creditlines.jobs.listings import EXPIRING_FIELDS, OVER_LIMIT_FIELDS, day_figures, expiring, over_limit
from creditlines.ledger import (
    availability,
    check_eligibility,
    lift_hold,
    place_hold,
    reseller_summary,
    terminate,
)
from creditlines.ledger.ageing import BUCKETS, AgeingRow, ageing, ageing_csv
from creditlines.ledger.browse import recent_entries, search_resellers
from creditlines.ledger.drawing_reads import list_drawings
from creditlines.ledger.held import HELD_FIELDS, cancel_held_order, held_listing
from creditlines.losses import claims as losses_claims
from creditlines.losses import defaults as losses_defaults
from creditlines.losses import statement_chain, statements
from creditlines.losses import writeoffs as losses_writeoffs
from creditlines.money import for_people, from_minor, parse_amount, to_minor
from creditlines.partnerships.service import list_for_vendor, require_admitted
from creditlines.programmes import nominations
from creditlines.programmes.enrolment import enrol
from creditlines.programmes.history import programme_history
from creditlines.programmes.service import get_programme, list_programmes, programme_lines, view
from creditlines.tenants.lookup import require_distributor
from creditlines.tenants.service import list_distributors, list_vendors

__all__ = [
    "claims_of_distributor",
    "claims_of_vendor",
    "default_of",
    "write_offs_of",
    "funder_statements",
    "record_statements",
    "canonical_statement",
    "statement_csv",
    "last_closed_period",
    "partnerships_of_vendor",
    "BUCKETS",
    "AgeingRow",
    "ageing",
    "ageing_csv",
    "console_session_ended",
    "end_console_session",
    "BOOTSTRAP_ADMIN_ID",
    "EXPIRING_FIELDS",
    "HELD_FIELDS",
    "cancel_held_order",
    "held_listing",
    "list_drawings",
    "OVER_LIMIT_FIELDS",
    "CreditLinesError",
    "Forbidden",
    "NotFound",
    "Principal",
    "Unauthenticated",
    "UnitOfWork",
    "ValidationFailed",
    "authenticate",
    "authorise",
    "availability",
    "check_eligibility",
    "clock",
    "day_figures",
    "enrol",
    "expiring",
    "for_people",
    "from_minor",
    "get_programme",
    "get_settings",
    "lift_hold",
    "list_distributors",
    "list_programmes",
    "list_vendors",
    "over_limit",
    "parse_amount",
    "place_hold",
    "programme_history",
    "programme_lines",
    "recent_entries",
    "require_admitted",
    "require_distributor",
    "reseller_summary",
    "retry_transient",
    "search_resellers",
    "stored_key",
    "terminate",
    "to_csv",
    "to_minor",
    "validation",
    "view",
    # credit decisions (SPEC §12)
    "COVER_CUT_FIELDS",
    "REFUSAL_CODES",
    "SameApprover",
    "cover_cuts",
    "cover_history",
    "credit_policy",
    "decide_nomination",
    "decide_request",
    "effective_status",
    "insured_cap",
    "nominations_of_distributor",
    "nominations_of_programme",
    "pending_requests_of",
    "recent_nominations",
    "recent_requests",
    "requests_of_distributor",
    "set_cover",
    "set_or_request",
    # four eyes on the controls (SPEC §23)
    "PolicyRequest",
    "decide_policy_request",
    "live_limits",
    "policy_request_changes",
    "policy_request_status",
    "policy_requests_of_distributor",
    "record_cover",
]

# Credit decisions (SPEC §12): the library's own functions under the names the pages use.
set_or_request = limit_requests.set_or_request
requests_of_distributor = limit_requests.list_requests
decide_request = limit_requests.decide
effective_status = limit_requests.effective_status
nominations_of_distributor = nominations.list_for_distributor
nominations_of_programme = nominations.list_for_programme
decide_nomination = nominations.decide
set_cover = insurance.set_cover
cover_history = insurance.history
credit_policy = policy.get
insured_cap = policy.insured_cap
cover_cuts = reports.cover_cuts
COVER_CUT_FIELDS = reports.COVER_CUT_FIELDS
recent_requests = decisions_browse.recent_requests
recent_nominations = decisions_browse.recent_nominations
pending_requests_of = decisions_browse.pending_requests_of
# Four eyes on the controls (SPEC §23): the same functions as the API's.
live_limits = limit_requests.live_limits
record_cover = policy_requests.record_cover
policy_requests_of_distributor = policy_requests.list_requests
decide_policy_request = policy_requests.decide
policy_request_status = policy_requests.effective_status
policy_request_changes = policy_requests.changes_of


def stored_key(session: Session, key_id: str) -> tuple[Principal, str] | None:
    """A key still valid (not revoked) by its id, with what identifies its secret (the stored
    hash; for the bootstrap admin, the configured key). ``None`` when it is no longer valid."""
    if key_id == BOOTSTRAP_ADMIN_ID:
        admin_key = get_settings().admin_key
        return (Principal(key_id=BOOTSTRAP_ADMIN_ID, role="admin"), admin_key) if admin_key else None
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    return (
        Principal(key_id=row.id, role=row.role, distributor_id=row.distributor_id, vendor_id=row.vendor_id),
        row.secret_hash,
    )


# Losses (SPEC §20, §21): the reseller's default and write-offs, claims, funders' statements.
default_of = losses_defaults.get
write_offs_of = losses_writeoffs.list_write_offs
claims_of_distributor = losses_claims.list_claims
claims_of_vendor = losses_claims.vendor_claims
funder_statements = statements.statements
record_statements = statement_chain.record
canonical_statement = statements.canonical
last_closed_period = statement_chain.last_closed_period
partnerships_of_vendor = list_for_vendor


def statement_csv(document: dict[str, object]) -> str:
    return to_csv(statements.csv_rows(document), statements.STATEMENT_FIELDS)
