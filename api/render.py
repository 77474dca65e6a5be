"""Responses serialised straight to JSON bytes (no response-model pass): :func:`document` turns
any ledger view into its document, so no route copies a view's fields by hand.

Each document is exactly the one of its route's declared response model; the tests
parse every such body with the model (tests/api/test_hot_path.py) and schemathesis checks it
against the OpenAPI schema.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from fastapi.responses import Response

from creditlines.eligibility import Decision
from creditlines.money import Money, money_json, to_minor

_FIELDS: dict[type, tuple[str, ...]] = {}


def document(value: Any) -> Any:
    """A view as its JSON document, field by field with no list to keep in step: a frozen
    dataclass becomes an object of its fields, ``Money`` the one money shape
    (``creditlines.money.money_json``), an instant ISO 8601 in UTC with ``Z``, a date ISO 8601;
    lists, tuples and dicts element by element."""
    if isinstance(value, Money):
        return money_json(to_minor(value), value.currency.code)
    if isinstance(value, str | int | bool | None):
        return value
    names = _FIELDS.get(type(value))
    if names is None and dataclasses.is_dataclass(value):
        names = _FIELDS.setdefault(type(value), tuple(f.name for f in dataclasses.fields(value)))
    if names is not None:
        return {name: document(getattr(value, name)) for name in names}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [document(item) for item in value]
    if isinstance(value, dict):
        return {key: document(item) for key, item in value.items()}
    raise TypeError(f"no JSON document for {type(value).__name__}")


def decision(d: Decision, currency: str) -> dict[str, Any]:
    """The eligibility answer straight from the pure rules' minor units: the hot route's fast
    path (no Money built), the same document as ``document(decision_view(d, currency))``, which
    tests/api/test_hot_path.py checks."""
    return {
        "eligible": d.eligible,
        "requested": money_json(d.requested, currency),
        "available": money_json(d.available, currency),
        "shortfall": money_json(d.shortfall, currency),
        "plan": [
            {"line_id": p.line_id, "kind": p.kind, "funder": p.funder, "amount": money_json(p.amount, currency)}
            for p in d.plan
        ],
        "reasons": [{"code": r.code, "message": r.message} for r in d.reasons],
        "overdue_stop": None
        if d.overdue_stop is None
        else {
            "overdue": money_json(d.overdue_stop.overdue, currency),
            "after_days": d.overdue_stop.after_days,
            "min_amount": money_json(d.overdue_stop.min_amount, currency),
        },
    }


def json_response(doc: Any, status_code: int = 200) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status_code, media_type="application/json")
