"""Hot responses serialised straight to JSON bytes (no response-model pass).

Each function produces exactly the document of its declared response model; the tests
parse every such body with the model (tests/api/test_hot_path.py) and schemathesis checks it
against the OpenAPI schema.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from creditlines.eligibility import Decision
from creditlines.ledger.service import DrawingView
from creditlines.money import Money, amount_str, to_minor


def money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": amount_str(minor, currency), "currency": currency}


def decision(d: Decision, currency: str) -> dict[str, Any]:
    return {
        "eligible": d.eligible,
        "requested": money(d.requested, currency),
        "available": money(d.available, currency),
        "shortfall": money(d.shortfall, currency),
        "plan": [
            {"line_id": p.line_id, "kind": p.kind, "funder": p.funder, "amount": money(p.amount, currency)}
            for p in d.plan
        ],
        "reasons": [{"code": r.code, "message": r.message} for r in d.reasons],
    }


def money_of(value: Money) -> dict[str, str]:
    """A Money as the API writes it: ``{"amount": "5000.00", "currency": "EUR"}``."""
    code = value.currency.code
    return {"amount": amount_str(to_minor(value), code), "currency": code}


def drawing(d: DrawingView) -> dict[str, Any]:
    return {
        "reference": d.reference,
        "amount": money_of(d.amount),
        "outstanding": money_of(d.outstanding),
        "status": d.status,
        "vendor_id": d.vendor_id,
        "allocations": [
            {
                "line_id": a.line_id,
                "funder": a.funder,
                "amount": money_of(a.amount),
                "outstanding": money_of(a.outstanding),
            }
            for a in d.allocations
        ],
        "created_at": d.created_at.isoformat().replace("+00:00", "Z"),
    }


def json_response(document: dict[str, Any], status_code: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status_code, media_type="application/json")
