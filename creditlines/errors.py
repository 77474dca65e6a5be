"""Domain errors. Each has a stable ``code``; none knows anything about HTTP."""

from __future__ import annotations

from typing import Any


class CreditLinesError(Exception):
    code = "error"
    title = "Error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthenticated(CreditLinesError):
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(CreditLinesError):
    code = "forbidden"
    title = "Outside this key's scope"


class NotFound(CreditLinesError):
    code = "not_found"
    title = "Not found"


class ValidationFailed(CreditLinesError):
    code = "validation_error"
    title = "Invalid request"


class InvalidAmount(CreditLinesError):
    code = "invalid_amount"
    title = "Invalid amount"


class CurrencyMismatch(CreditLinesError):
    code = "currency_mismatch"
    title = "Currency mismatch"


class InsufficientCredit(CreditLinesError):
    code = "insufficient_credit"
    title = "Insufficient credit"


class AccountOnHold(CreditLinesError):
    code = "account_on_hold"
    title = "Account on hold"


class OverdueStop(CreditLinesError):
    """SPEC §18: the reseller's outstanding overdue beyond the distributor's policy stops its drawings."""

    code = "overdue_stop"
    title = "Overdue stop"


class ResellerTerminated(CreditLinesError):
    code = "reseller_terminated"
    title = "Reseller terminated"


class IdempotencyConflict(CreditLinesError):
    code = "idempotency_conflict"
    title = "Reference already used with a different request"


class ReleaseExceedsOutstanding(CreditLinesError):
    code = "release_exceeds_outstanding"
    title = "Release exceeds the drawing's outstanding"


class ProgrammeClosed(CreditLinesError):
    code = "programme_closed"
    title = "Programme closed"


class BudgetExhausted(CreditLinesError):
    code = "budget_exhausted"
    title = "Programme budget exhausted"


class Conflict(CreditLinesError):
    """A state conflict with no more specific code (e.g. creating what already exists)."""

    code = "conflict"
    title = "Conflict"


class VendorNotAdmitted(CreditLinesError):
    """The vendor has no partnership with this distributor: it may not act there at all."""

    code = "vendor_not_admitted"
    title = "Vendor not admitted by this distributor"


class PartnershipEnded(CreditLinesError):
    code = "partnership_ended"
    title = "Partnership ended"


class LimitAbovePartnership(CreditLinesError):
    code = "limit_above_partnership"
    title = "Limit above the partnership's maximum line limit"


class ConcurrentUpdate(CreditLinesError):
    """A deadlock or serialization failure that persisted after the service's retries."""

    code = "concurrent_update"
    title = "Concurrent update; retry the same request"


class ApprovalRequired(CreditLinesError):
    """The distributor decides this vendor's enrolments itself (partnership ``requires_approval``)."""

    code = "approval_required"
    title = "The distributor approves this vendor's enrolments"


class SameApprover(CreditLinesError):
    """Four eyes: the key that asked for a raise may not decide it."""

    code = "same_approver"
    title = "The requester's own key cannot decide its request"


class AlreadyDecided(CreditLinesError):
    code = "already_decided"
    title = "Already decided"


class RequestExpired(CreditLinesError):
    code = "request_expired"
    title = "Limit request expired"


class AboveInsuredCap(CreditLinesError):
    """Under ``cover_plus_discretionary`` a base limit may not be raised above cover + discretionary."""

    code = "above_insured_cap"
    title = "Base limit above the insured cap"


class AlreadyGranted(CreditLinesError):
    code = "already_granted"
    title = "The reseller already holds a line of this programme"


class LimitChanged(CreditLinesError):
    """A limit request asked from a base limit that is no longer the live one (SPEC §23)."""

    code = "limit_changed"
    title = "The base limit changed since this request was asked"


class PolicyChanged(CreditLinesError):
    """A policy request whose fields (or cover) no longer hold what they held when it was asked."""

    code = "policy_changed"
    title = "The policy changed since this request was asked"


class WebhookUrlNotAllowed(CreditLinesError):
    code = "webhook_url_not_allowed"
    title = "Webhook destination not allowed"


class NotHeld(CreditLinesError):
    code = "not_held"
    title = "The drawing is not a held order"


class NotInDefault(CreditLinesError):
    code = "not_in_default"
    title = "Only a reseller in default may have its debt written off"


class AlreadyInDefault(CreditLinesError):
    code = "already_in_default"
    title = "The reseller is already in default, declared otherwise"


class NothingOutstanding(CreditLinesError):
    code = "nothing_outstanding"
    title = "Nothing outstanding to write off"


class AlreadySettled(CreditLinesError):
    code = "already_settled"
    title = "The claim is already settled"


class PeriodNotClosed(CreditLinesError):
    code = "period_not_closed"
    title = "The month has not ended in the distributor's time zone"
