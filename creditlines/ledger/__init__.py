"""The ledger: resellers' credit lines, drawings, releases and the append-only journal.

``from creditlines import ledger`` gives the operations below; each lives in the module named
after what it does (CONTRIBUTING.md, "Layout"):

* :mod:`~creditlines.ledger.resellers` — a reseller's life: creation, base limit, holds,
  termination, listings, bulk import;
* :mod:`~creditlines.ledger.lines` — vendor-funded lines: grant, extension, closing;
* :mod:`~creditlines.ledger.availability` — availability and the eligibility answer;
* :mod:`~creditlines.ledger.drawings` — drawings down the waterfall (PostgreSQL function or
  Python, one typed outcome);
* :mod:`~creditlines.ledger.releases` — payments, cancellations, credit notes, financiers' payments;
* :mod:`~creditlines.ledger.held` and :mod:`~creditlines.ledger.held_release` — held orders (SPEC §16):
  cancel, expiry, the lists, and the re-check every change that frees credit runs;
* :mod:`~creditlines.ledger.financing` — financed orders (SPEC §17);
* :mod:`~creditlines.ledger.posting` — an accepted drawing written down its plan;
* :mod:`~creditlines.ledger.journal` — the only writer of ledger entries;
* :mod:`~creditlines.ledger.views` — what the operations answer;
* :mod:`~creditlines.ledger.repository` — the queries; :mod:`~creditlines.ledger.models` — the tables;
  :mod:`~creditlines.ledger.fold` and :mod:`~creditlines.ledger.verify` — balances recomputed from
  the journal.

Services take the session first and keyword-only arguments after it. They flush, never commit:
the request or the job owns the transaction. Every write path locks the reseller first.
"""

from creditlines.ledger.availability import availability, check_eligibility, current_state, decide_now
from creditlines.ledger.desk import DrawingDesk
from creditlines.ledger.drawing_reads import get_drawing, list_drawings
from creditlines.ledger.drawings import (
    DrawingRequest,
    DrawOutcome,
    DrawResult,
    draw,
    draw_result,
)
from creditlines.ledger.held_release import release_held_orders
from creditlines.ledger.journal import ledger_entries
from creditlines.ledger.lines import close_lines, extend_line, grant_programme_line
from creditlines.ledger.releases import release
from creditlines.ledger.resellers import (
    get_reseller,
    import_resellers,
    lift_hold,
    list_resellers,
    place_hold,
    reseller_summary,
    set_base_limit,
    terminate,
    upsert_reseller,
)
from creditlines.ledger.views import (
    AllocationView,
    AvailabilityView,
    DecisionView,
    DrawingView,
    LineView,
    PlanItemView,
    ResellerSummary,
)

__all__ = [
    "AllocationView",
    "AvailabilityView",
    "DecisionView",
    "DrawOutcome",
    "DrawResult",
    "DrawingDesk",
    "DrawingRequest",
    "DrawingView",
    "LineView",
    "PlanItemView",
    "ResellerSummary",
    "availability",
    "check_eligibility",
    "close_lines",
    "current_state",
    "decide_now",
    "draw",
    "draw_result",
    "extend_line",
    "get_drawing",
    "get_reseller",
    "grant_programme_line",
    "import_resellers",
    "ledger_entries",
    "lift_hold",
    "list_drawings",
    "list_resellers",
    "place_hold",
    "release",
    "release_held_orders",
    "reseller_summary",
    "set_base_limit",
    "terminate",
    "upsert_reseller",
]
