"""The closed list of event types (SPEC §13) and which of them a vendor's feed may carry."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    RESELLER_CREATED = "reseller.created"
    RESELLER_HOLD_PLACED = "reseller.hold_placed"
    RESELLER_HOLD_LIFTED = "reseller.hold_lifted"
    RESELLER_TERMINATED = "reseller.terminated"
    RESELLER_OVER_LIMIT = "reseller.over_limit"
    RESELLER_BACK_WITHIN_LIMIT = "reseller.back_within_limit"
    RESELLER_UTILISATION_CROSSED = "reseller.utilisation_crossed"
    RESELLER_OVERDUE_STOP = "reseller.overdue_stop"  # SPEC §18, creditlines.ledger.terms
    RESELLER_OVERDUE_CLEARED = "reseller.overdue_cleared"
    LIMIT_CHANGED = "limit.changed"
    # Written by the credit-decisions work (issue 13); named here so the feeds and webhooks accept them.
    LIMIT_REQUEST_CREATED = "limit_request.created"
    LIMIT_REQUEST_APPROVED = "limit_request.approved"
    LIMIT_REQUEST_REJECTED = "limit_request.rejected"
    LIMIT_REQUEST_EXPIRED = "limit_request.expired"
    LIMIT_REQUEST_SUPERSEDED = "limit_request.superseded"  # SPEC §23
    NOMINATION_CREATED = "nomination.created"
    NOMINATION_APPROVED = "nomination.approved"
    NOMINATION_REJECTED = "nomination.rejected"
    INSURANCE_CHANGED = "insurance.changed"
    # Losses (issue 24, SPEC §19–§20).
    INSURANCE_CUT_SCHEDULED = "insurance.cut_scheduled"
    RESELLER_DEFAULTED = "reseller.defaulted"
    DRAWING_WRITTEN_OFF = "drawing.written_off"
    CLAIM_OPENED = "claim.opened"
    CLAIM_SETTLED = "claim.settled"
    DRAWING_CREATED = "drawing.created"
    DRAWING_REFUSED = "drawing.refused"
    DRAWING_SETTLED = "drawing.settled"
    DRAWING_HELD = "drawing.held"
    DRAWING_HOLD_RELEASED = "drawing.hold_released"
    DRAWING_HOLD_EXPIRED = "drawing.hold_expired"
    DRAWING_HOLD_CANCELLED = "drawing.hold_cancelled"
    FINANCING_CREATED = "financing.created"
    FINANCING_OVERDUE = "financing.overdue"
    LINE_GRANTED = "line.granted"
    LINE_EXTENDED = "line.extended"
    LINE_EXPIRING = "line.expiring"
    LINE_EXPIRED = "line.expired"
    LINE_REVOKED = "line.revoked"
    PROGRAMME_UTILISATION_CROSSED = "programme.utilisation_crossed"
    WEBHOOK_DISABLED = "webhook.disabled"


ALL_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)

# What a partner manager's feed (and a vendor's webhook) may carry: events about the vendor's
# programmes and their lines. Their `data` never holds a base-line amount or a reseller's totals
# (creditlines.events.outbox.record refuses such keys on an event that names a vendor).
PARTNER_TYPES: tuple[str, ...] = (
    EventType.LINE_GRANTED,
    EventType.LINE_EXTENDED,
    EventType.LINE_EXPIRING,
    EventType.LINE_EXPIRED,
    EventType.LINE_REVOKED,
    EventType.PROGRAMME_UTILISATION_CROSSED,
    EventType.NOMINATION_CREATED,
    EventType.NOMINATION_APPROVED,
    EventType.NOMINATION_REJECTED,
    EventType.CLAIM_OPENED,  # only the vendor's own claims name it (SPEC §20)
    EventType.CLAIM_SETTLED,
    EventType.WEBHOOK_DISABLED,
)

# Keys that would reveal a base line or a reseller's whole position: never in a vendor's event.
DISTRIBUTOR_ONLY_KEYS = frozenset(
    {
        "total_limit_minor",
        "total_drawn_minor",
        "before_minor",
        "after_minor",
        "base_limit_minor",
        "available_minor",
        "shortfall_minor",
    }
)

THRESHOLDS: tuple[int, ...] = (70, 85, 100)
EXPIRING_DAYS: tuple[int, ...] = (30, 7)
