"""Inputs that must never answer a 5xx on the endpoints added since the first version (review of issue 20)."""

from __future__ import annotations

import base64
import json

from api.deps import encode_cursor
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1"
HUGE = "9" * 40 + ".99"


def raw_cursor(document) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "x",
    "%%%",
    "A" * 501,
    raw_cursor({"k": [2**63, 0]}),
    raw_cursor({"k": [-1, 0]}),
    raw_cursor({"k": [1.5, 0]}),
    raw_cursor({"k": [True, 0]}),
    raw_cursor({"k": 2**64}),
    raw_cursor({"k": [7_258_118_400_000_001, "R-1", "SO-1"]}),
    raw_cursor({"k": [0, "R 1", "SO-1"]}),
    raw_cursor({"k": "\u0000"}),
    raw_cursor({"k": {"k": 1}}),
    raw_cursor([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
]


def test_no_input_makes_a_new_endpoint_answer_5xx(api):
    assert api.put(R, json={"name": "R-1"}).status_code == 201
    assert api.put(R + "/base-limit", json={"limit": eur("1000.00"), "reason": "open"}).status_code == 200
    held = api.post(
        R + "/drawings", who="integration", json={"reference": "SO-1", "amount": eur("5000.00"), "on_refusal": "hold"}
    )
    assert held.status_code == 202, held.text
    hook = api.post("/v1/webhooks", json={"url": "https://erp.example/h", "types": ["drawing.created"]}).json()["id"]
    probes: list[tuple[str, str, dict]] = []
    for cursor in BAD_CURSORS:
        probes += [
            ("GET", f"{D}/events", {"params": {"after": cursor}}),
            ("GET", "/v1/vendors/microsoft/events", {"params": {"after": cursor}, "who": "partner"}),
            ("GET", f"{D}/held-orders", {"params": {"cursor": cursor}}),
            ("GET", f"/v1/webhooks/{hook}/deliveries", {"params": {"cursor": cursor}}),
            ("GET", f"{D}/policy-requests", {"params": {"cursor": cursor}}),
            ("GET", f"{D}/limit-requests", {"params": {"cursor": cursor}}),
            ("GET", f"{D}/nominations", {"params": {"cursor": cursor}}),
        ]
    # a valid held cursor at the bound of the instants
    probes.append(
        ("GET", f"{D}/held-orders", {"params": {"cursor": encode_cursor([7_258_118_400_000_000, "R-1", "SO-1"])}})
    )
    probes.append(("GET", f"{D}/events", {"params": {"after": encode_cursor([2**63 - 1, 2**63 - 1])}}))
    probes.append(("GET", f"/v1/webhooks/{hook}/deliveries", {"params": {"cursor": encode_cursor(0)}}))
    fin = {"reference": "F-1", "financier": "msf", "amount": eur("100.00"), "order_reference": "SO-2"}
    for change in (
        {"amount": eur(HUGE)},
        {"amount": {"amount": "100.00", "currency": "USD"}},
        {"amount": {"amount": "100.00", "currency": "XXX"}},
        {"amount": {"amount": "1e3", "currency": "EUR"}},
        {"amount": {"amount": "NaN", "currency": "EUR"}},
        {"amount": {"amount": "-0.00", "currency": "EUR"}},
        {"amount": {"amount": 100, "currency": "EUR"}},
        {"amount": eur("0.001")},
        {"pay_within_hours": 10**30},
        {"pay_within_hours": "48"},
        {"pay_within_hours": 0},
        {"financier": "x" * 65},
        {"financier": "ms f"},
        {"order_reference": "SO-1"},  # an order already held: a financing carries an order to come
        {"extra": "field"},
        {"reference": "x" * 1000},
    ):
        probes.append(("POST", R + "/financings", {"json": {**fin, **change}, "who": "integration"}))
    probes += [
        ("POST", "/v1/distributors/actebis/resellers/NOPE/financings", {"json": fin}),
        ("GET", f"{D}/reports/financings", {"params": {"since": "9999-12-31"}}),
        ("GET", f"{D}/reports/cover-cuts", {"params": {"since": "0001-01-01"}}),
        ("GET", f"{D}/reports/cover-cuts", {"params": {"since": "9999-12-31"}}),
        ("DELETE", R + "/drawings/NOPE", {}),
        ("DELETE", D + "/resellers/NOPE/drawings/SO-1", {}),
        ("DELETE", R + "/drawings/" + "x" * 600, {}),
        ("GET", f"{D}/held-orders", {"params": {"limit": 10**30}}),
        ("PATCH", D, {"json": {"approval_threshold": eur(HUGE)}}),
        ("PATCH", D, {"json": {"discretionary": eur(HUGE)}}),
        ("PATCH", D, {"json": {"approval_threshold": {"amount": "5.00", "currency": "GBP"}}}),
        ("PATCH", D, {"json": {"hold_days": 10**30}}),
        ("PATCH", D, {"json": {"hold_days": 0}}),
        ("PATCH", D, {"json": {"base_cap_policy": "everything"}}),
        ("PATCH", D, {"json": {"unknown": 1}}),
        ("PATCH", D, {"json": {"approval_threshold": eur("-1.00")}}),
        ("PATCH", "/v1/distributors/NOPE", {"who": "admin", "json": {"hold_days": 3}}),
        ("PUT", R + "/insurance", {"json": {"insurer": "atradius", "cover": eur(HUGE), "decided_on": "2026-03-01"}}),
        ("PUT", R + "/insurance", {"json": {"insurer": "atradius", "cover": eur("10.00"), "decided_on": "0001-01-01"}}),
        ("PUT", R + "/insurance", {"json": {"insurer": "atradius", "cover": eur("10.00"), "decided_on": "9999-12-31"}}),
        (
            "PUT",
            D + "/resellers/NOPE/insurance",
            {"json": {"insurer": "a", "cover": eur("10.00"), "decided_on": "2026-03-01"}},
        ),
        ("GET", f"{D}/policy-requests/pr_nope", {}),
        ("GET", f"{D}/policy-requests/" + "x" * 300, {}),
        ("POST", f"{D}/policy-requests/pr_nope/decision", {"json": {"decision": "approve", "reason": "x"}}),
        ("POST", f"{D}/policy-requests/pr_nope/decision", {"json": {"decision": "maybe", "reason": "x", "x": 1}}),
        (
            "POST",
            f"{D}/limit-requests/lr_nope/decision",
            {"json": {"decision": "approve", "reason": "x", "limit": eur(HUGE)}},
        ),
        (
            "POST",
            f"{D}/nominations/nom_nope/decision",
            {"json": {"decision": "approve", "reason": "x", "limit": eur(HUGE)}},
        ),
        ("GET", "/v1/webhooks/wh_nope", {}),
        ("GET", "/v1/webhooks/" + "x" * 300 + "/deliveries", {}),
        ("POST", "/v1/webhooks/wh_nope/secret", {}),
        ("DELETE", "/v1/webhooks/wh_nope", {}),
        ("GET", f"/v1/webhooks/{hook}/deliveries", {"params": {"limit": 10**30}}),
        ("GET", f"{D}/events", {"params": {"types": "nope"}}),
        ("GET", f"{D}/events", {"params": {"types": ",,,"}}),
        ("GET", f"{D}/events", {"params": {"types": ",".join(["drawing.created"] * 300)}}),
        ("GET", "/v1/distributors/NOPE/events", {"who": "admin"}),
        ("GET", "/v1/vendors/NOPE/events", {"who": "admin"}),
        ("GET", "/v1/vendors/microsoft/programmes/nope/nominations", {"who": "partner"}),
        ("GET", "/v1/vendors/microsoft/programmes/@/nominations", {"who": "partner"}),
        ("GET", "/v1/vendors/microsoft/programmes/mezz@NOPE/nominations", {"who": "partner"}),
    ]
    for url in (
        "http://[::1",
        "http://a:0/",
        "http://a:99999/",
        "http://" + "a" * 64 + ".example/",
        "http://" + "a." * 200 + "example/",
        "http://ex\u00e4mple.invalid/",
        "http://xn--/",
        "http://.../",
        "http://[v1.x]/",
        "file:///etc/passwd",
        "http://%31%32%37.0.0.1/",
        "http://[::ffff:127.0.0.1%25eth0]/",
    ):
        probes.append(("POST", "/v1/webhooks", {"json": {"url": url, "types": ["drawing.created"]}}))
    for body in (
        {"url": "https://e.example/", "types": ["drawing.created"] * 65},
        {"url": "https://e.example/", "types": []},
        {"url": "https://e.example/", "types": ["drawing.created"], "distributor_id": "NOPE"},
        {
            "url": "https://e.example/",
            "types": ["drawing.created"],
            "vendor_id": "microsoft",
            "distributor_id": "actebis",
        },
        {"url": "https://e.example/", "types": ["drawing.created"], "extra": 1},
        {"url": 12, "types": ["drawing.created"]},
    ):
        probes.append(("POST", "/v1/webhooks", {"json": body}))
    probes.append(
        (
            "POST",
            "/v1/webhooks",
            {"json": {"url": "https://e.example/", "types": ["line.granted"], "vendor_id": "NOPE"}, "who": "admin"},
        )
    )

    errors = []
    for method, path, kw in probes:
        kw = dict(kw)
        who = kw.pop("who", "officer")
        answer = api.request(method, path, who=who, **kw)
        if answer.status_code >= 500 or (
            answer.status_code >= 400 and not answer.headers["content-type"].startswith("application/problem+json")
        ):
            errors.append((method, path, kw, answer.status_code, answer.text[:300]))
    assert errors == []


def test_the_financings_report_refuses_a_date_before_1900_with_a_422(api):
    """GET /v1/distributors/actebis/reports/financings?since=0001-01-01 (officer) answered 500:
    OverflowError in creditlines/db/base.py:39 binding local midnight of year 1 in Europe/Paris as UTC.
    The same date on /reports/cover-cuts answers 422 (its router calls validation.day)."""
    for accept in ("application/json", "text/csv"):
        answer = api.get(f"{D}/reports/financings", params={"since": "0001-01-01"}, headers={"Accept": accept})
        assert answer.status_code == 422, answer.text
