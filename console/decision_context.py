"""What the reseller and programme pages show of the credit decisions (SPEC §12), read in
their transaction: the reseller's pending limit requests and insurer cover (for the officer),
a programme's nominations (for the partner manager — their status and refusal code, never the
officer's reason text, which is left out here so that no template can show it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from console import library as lib

NOMINATIONS_SHOWN = 200


def reseller_decisions(s: Session, distributor_id: str, reseller_id: str) -> dict[str, Any]:
    """The reseller page's four-eyes requests and cover: pending requests, the credit policy,
    the cover history (newest first) and the cap the policy puts on the base limit now."""
    covers = lib.cover_history(s, distributor_id=distributor_id, reseller_id=reseller_id)
    return dict(
        pending_requests=lib.pending_requests_of(s, distributor_id=distributor_id, reseller_id=reseller_id),
        credit_policy=lib.credit_policy(s, distributor_id),
        covers=list(reversed(covers)),
        insured_cap=lib.insured_cap(s, distributor_id, reseller_id),
        today=lib.clock.local_today(lib.require_distributor(s, distributor_id).timezone),
    )


@dataclass(frozen=True)
class VendorNomination:
    """A nomination as its vendor sees it: no reason text, no officer."""

    id: str
    reseller_id: str
    limit_minor: int
    status: str
    refusal_code: str | None
    created_at: datetime
    decided_at: datetime | None
    granted_minor: int | None


def programme_nominations(s: Session, programme: Any) -> dict[str, Any]:
    rows = lib.nominations_of_programme(s, programme, status=None, after=None, limit=NOMINATIONS_SHOWN + 1)
    shown = [
        VendorNomination(
            n.id,
            n.reseller_id,
            n.limit_minor,
            n.status,
            n.refusal_code,
            n.created_at,
            n.decided_at,
            n.decided_limit_minor,
        )
        for n in rows[:NOMINATIONS_SHOWN]
    ]
    return dict(nominations=shown, nominations_truncated=len(rows) > NOMINATIONS_SHOWN)
