"""Financed orders (SPEC §17), over HTTP: Microsoft Financing carries an order, not the line."""

from __future__ import annotations

from creditlines import clock
from creditlines.ledger.verify import verify
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1001"
MSF = "microsoft-financing"


def _reseller(api) -> None:
    assert api.put(R, json={"name": "Bureau Vallée Lyon"}).status_code == 201
    assert api.put(R + "/base-limit", json={"limit": eur("10000.00"), "reason": "cover"}).status_code == 200


def _finance(api, reference: str, order: str, amount: str, **extra):
    body = {"reference": reference, "financier": MSF, "amount": eur(amount), "order_reference": order, **extra}
    return api.post(R + "/financings", who="integration", json=body)


def _order(api, reference: str, amount: str):
    answer = api.post(R + "/drawings", who="integration", json={"reference": reference, "amount": eur(amount)})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _financier_pays(api, order: str, amount: str):
    answer = api.post(
        f"{R}/drawings/{order}/releases",
        who="integration",
        json={"reference": f"MSF-{order}", "amount": eur(amount), "kind": "financier_payment"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _available(api) -> dict:
    return api.get(R + "/availability").json()["total_available"]


def test_a_financed_order_paid_on_time_never_touches_the_line(api):
    _reseller(api)
    created = _finance(api, "FIN-1", "SO-1", "20000.00")
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "open" and created.json()["pay_within_hours"] == 48
    assert _finance(api, "FIN-1", "SO-1", "20000.00").status_code == 200
    conflict = _finance(api, "FIN-1", "SO-1", "21000.00")
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    assert _available(api) == eur("10000.00")  # the financing is for SO-1 only

    # another order cannot use it; SO-1 (20,000, twice the line) takes it first
    refused = api.post(R + "/drawings", who="integration", json={"reference": "SO-9", "amount": eur("10000.01")})
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_credit"
    order = _order(api, "SO-1", "20000.00")
    assert [(a["funder"], a["amount"]) for a in order["allocations"]] == [(MSF, eur("20000.00"))]
    assert _available(api) == eur("10000.00")

    clock.set_now("2026-03-03T15:00:00+00:00")  # 30 hours later
    paid = _financier_pays(api, "SO-1", "20000.00")
    assert paid["status"] == "settled"
    assert api.post("/v1/jobs/expiry", who="admin", json={}).status_code == 200
    assert _available(api) == eur("10000.00")

    report = api.get(D + "/reports/financings?since=2026-03-01").json()["items"]
    assert report == [
        {
            "financier": MSF,
            "financed_count": 1,
            "financed_amount": eur("20000.00"),
            "paid_on_time_count": 1,
            "paid_on_time_share": "1.0000",
            "median_hours_to_pay": "30.00",
            "overdue_count": 0,
            "overdue_now": eur("0.00"),
        }
    ]


def test_a_financed_order_paid_late_lands_on_base(api):
    _reseller(api)
    assert _finance(api, "FIN-2", "SO-2", "12000.00").status_code == 201
    order = _order(api, "SO-2", "15000.00")  # 12,000 financed, 3,000 on the reseller's own line
    assert [(a["funder"], a["amount"]) for a in order["allocations"]] == [
        (MSF, eur("12000.00")),
        ("actebis", eur("3000.00")),
    ]
    assert _available(api) == eur("7000.00")

    clock.set_now("2026-03-04T09:00:00+00:00")  # 48 hours: due now, still unpaid
    job = api.post("/v1/jobs/expiry", who="admin", json={})
    assert job.status_code == 200, job.text
    view = api.get(R + "/availability").json()
    assert view["total_drawn"] == eur("15000.00") and view["over_limit"] is True  # the 12,000 moved to base
    events = [e for e in api.get(D + "/events?limit=500").json()["items"] if e["type"] == "financing.overdue"]
    assert [e["data"]["reference"] for e in events] == ["FIN-2"]
    report = api.get(D + "/reports/financings?since=2026-03-01").json()["items"][0]
    assert (report["paid_on_time_count"], report["paid_on_time_share"], report["overdue_count"]) == (0, "0.0000", 1)
    assert report["overdue_now"] == eur("12000.00")
    csv = api.get(D + "/reports/financings?since=2026-03-01", headers={"Accept": "text/csv"}).text
    assert csv.splitlines()[1].startswith(f"{MSF},1,12000.00,EUR,0,0.0000,")

    clock.set_now("2026-03-05T09:00:00+00:00")  # the financier pays, 72 hours after the drawing: late
    paid = _financier_pays(api, "SO-2", "12000.00")
    assert paid["outstanding"] == eur("3000.00")
    assert _available(api) == eur("7000.00")
    report = api.get(D + "/reports/financings?since=2026-03-01").json()["items"][0]
    assert (report["paid_on_time_count"], report["overdue_count"], report["median_hours_to_pay"]) == (0, 1, None)
    with api.uow.snapshot() as s:
        assert verify(s, distributor_id="actebis") == []


def test_a_financing_releases_the_held_order_it_carries(api):
    _reseller(api)
    held = api.post(
        R + "/drawings",
        who="integration",
        json={"reference": "SO-3", "amount": eur("25000.00"), "on_refusal": "hold"},
    )
    assert held.status_code == 202
    assert _finance(api, "FIN-3", "SO-3", "20000.00").status_code == 201
    released = api.get(R + "/drawings/SO-3").json()
    assert released["status"] == "open"
    assert [(a["funder"], a["amount"]) for a in released["allocations"]] == [
        (MSF, eur("20000.00")),
        ("actebis", eur("5000.00")),
    ]
    assert _finance(api, "FIN-4", "SO-3", "1.00").json()["code"] == "conflict"  # the order is already drawn
    with api.uow.snapshot() as s:
        assert verify(s, distributor_id="actebis") == []
