"""A credit officer and the ERP, through HTTP only, as the README tells them."""

from tests.api.conftest import eur

R = "/v1/distributors/actebis/resellers/R-1001"


def test_create_limit_check_order_pay_and_read_the_ledger(api):
    created = api.put(R, json={"name": "Bureau Vallée Lyon"})
    assert created.status_code == 201, created.text
    assert created.json()["total_limit"] == eur("0.00")
    renamed = api.put(R, json={"name": "Bureau Vallée Lyon 3e"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Bureau Vallée Lyon 3e"

    limit = api.put(R + "/base-limit", json={"limit": eur("10000.00"), "reason": "insurer cover 10k"})
    assert limit.status_code == 200 and limit.json()["total_available"] == eur("10000.00")

    check = api.post(R + "/eligibility", who="integration", json={"amount": eur("7500.00")})
    assert check.status_code == 200
    decision = check.json()
    assert decision["eligible"] is True and decision["shortfall"] == eur("0.00")
    assert [(p["kind"], p["funder"], p["amount"]) for p in decision["plan"]] == [("base", "actebis", eur("7500.00"))]

    order = api.post(R + "/drawings", who="integration", json={"reference": "SO-77", "amount": eur("7500.00")})
    assert order.status_code == 201, order.text
    assert order.json()["status"] == "open" and order.json()["outstanding"] == eur("7500.00")
    replay = api.post(R + "/drawings", who="integration", json={"reference": "SO-77", "amount": eur("7500.00")})
    assert replay.status_code == 200 and replay.json() == order.json()

    paid = api.post(
        R + "/drawings/SO-77/releases",
        who="integration",
        json={"reference": "PAY-1", "amount": eur("7500.00"), "kind": "payment"},
    )
    assert paid.status_code == 201 and paid.json()["status"] == "settled"

    ledger = api.get(R + "/ledger")
    assert ledger.status_code == 200
    kinds = [e["kind"] for e in ledger.json()["items"]]
    assert kinds == [
        "reseller_created",
        "line_opened",
        "reseller_renamed",
        "limit_set",
        "drawing_posted",
        "drawing_allocated",
        "release_posted",
        "release_applied",
    ]
    limit_entry = ledger.json()["items"][3]
    assert limit_entry["limit_after"] == eur("10000.00") and limit_entry["reason"] == "insurer cover 10k"
    assert limit_entry["actor"].startswith("credit_officer:")

    view = api.get(R + "/availability").json()
    assert view["total_available"] == eur("10000.00") and view["currency"] == "EUR"
    assert view["lines"][0]["kind"] == "base" and view["lines"][0]["funder"] == "actebis"


def test_lists_are_cursor_paginated_and_filtered(api):
    for i in range(7):
        api.put(f"/v1/distributors/actebis/resellers/R-{i}", json={"name": f"R {i}"})
        api.put(f"/v1/distributors/actebis/resellers/R-{i}/base-limit", json={"limit": eur("100.00"), "reason": "x"})
    for i in (1, 4):
        api.post(f"/v1/distributors/actebis/resellers/R-{i}/drawings", json={"reference": "A", "amount": eur("100.00")})
        api.put(f"/v1/distributors/actebis/resellers/R-{i}/base-limit", json={"limit": eur("50.00"), "reason": "cut"})
    api.post("/v1/distributors/actebis/resellers/R-6/hold", json={"reason": "late payments"})

    seen, cursor = [], None
    while True:
        page = api.get(
            "/v1/distributors/actebis/resellers", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"R-{i}" for i in range(7)]

    over = api.get("/v1/distributors/actebis/resellers", params={"over_limit": "true"}).json()["items"]
    assert [r["id"] for r in over] == ["R-1", "R-4"] and all(r["over_limit"] for r in over)
    not_over = api.get("/v1/distributors/actebis/resellers", params={"over_limit": "false"}).json()["items"]
    assert len(not_over) == 5 and not any(r["over_limit"] for r in not_over)
    on_hold = api.get("/v1/distributors/actebis/resellers", params={"status": "on_hold"}).json()["items"]
    assert [r["id"] for r in on_hold] == ["R-6"]

    for ref in ("B", "A", "C"):
        api.post("/v1/distributors/actebis/resellers/R-0/drawings", json={"reference": ref, "amount": eur("0.01")})
    first = api.get("/v1/distributors/actebis/resellers/R-0/drawings", params={"limit": 2}).json()
    assert [d["reference"] for d in first["items"]] == ["A", "B"] and first["next_cursor"]
    rest = api.get(
        "/v1/distributors/actebis/resellers/R-0/drawings", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [d["reference"] for d in rest["items"]] == ["C"] and rest["next_cursor"] is None
    bad = api.get("/v1/distributors/actebis/resellers", params={"cursor": "not-a-cursor!"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


def test_operators_see_metrics_and_request_ids(api):
    api.put(R, json={"name": "R"})
    api.post(R + "/drawings", who="integration", json={"reference": "SO-X", "amount": eur("1.00")})  # refused: limit 0
    traced = api.get(R, headers={"X-Request-ID": "req-123"})
    assert traced.headers["x-request-id"] == "req-123"
    ids = {api.get(R).headers["x-request-id"] for _ in range(3)}
    # a per-process random prefix (12 hex digits) and a counter: unique, and one process's alike
    prefixes = {i.partition("-")[0] for i in ids}
    assert len(ids) == 3 and len(prefixes) == 1 and all(len(p) == 12 for p in prefixes)
    api.client.app.state.metrics_token = token = "journey-metrics-token"  # as CREDITLINES_METRICS_TOKEN sets it
    body = api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert 'creditlines_drawings_total{distributor_id="actebis",outcome="insufficient_credit"}' in body
    assert 'route="/v1/distributors/{distributor_id}/resellers/{reseller_id}"' in body
    assert "creditlines_http_request_duration_seconds_bucket" in body
