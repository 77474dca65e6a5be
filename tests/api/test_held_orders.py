"""Held orders (SPEC §16), over HTTP, as the ERP and the credit officer live them."""

from __future__ import annotations

from creditlines import clock
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1001"
MS = "/v1/vendors/microsoft/programmes"
MEZZANINE = {
    "code": "mezzanine",
    "distributor_id": "actebis",
    "name": "Microsoft Mezzanine",
    "kind": "standing",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
}


def _reseller(api, path: str = R, limit: str = "10000.00") -> None:
    assert api.put(path, json={"name": "Bureau Vallée Lyon"}).status_code == 201
    assert api.put(path + "/base-limit", json={"limit": eur(limit), "reason": "cover"}).status_code == 200


def _order(api, reference: str, amount: str, path: str = R, **extra):
    body = {"reference": reference, "amount": eur(amount), "on_refusal": "hold", **extra}
    return api.post(path + "/drawings", who="integration", json=body)


def _pay(api, drawing: str, reference: str, amount: str, path: str = R):
    answer = api.post(
        f"{path}/drawings/{drawing}/releases",
        who="integration",
        json={"reference": reference, "amount": eur(amount), "kind": "payment"},
    )
    assert answer.status_code == 201, answer.text
    return answer


def _events(api, *types: str) -> list[dict]:
    items = api.get(D + "/events?limit=500").json()["items"]
    return [e for e in items if e["type"] in types]


def test_an_order_held_at_5800_available_is_released_by_the_mezzanine_enrolment(api):
    _reseller(api)
    assert (
        api.post(R + "/drawings", who="integration", json={"reference": "SO-1", "amount": eur("4200.00")}).status_code
        == 201
    )

    held = _order(api, "SO-2", "9000.00")
    assert held.status_code == 202, held.text
    doc = held.json()
    assert doc["status"] == "held" and doc["outstanding"] == eur("0.00") and doc["allocations"] == []
    assert doc["hold"]["reasons"] == ["insufficient_credit"]
    assert doc["hold"]["shortfall"] == eur("3200.00")
    assert doc["hold"]["held_at"] == "2026-03-02T09:00:00Z"
    assert doc["hold"]["expires_at"] == "2026-03-09T09:00:00Z"  # 7 days by default
    assert doc["hold"]["released_at"] is None
    # held reserves nothing; the same body again answers the order as it is now
    assert api.get(R + "/availability").json()["total_available"] == eur("5800.00")
    again = _order(api, "SO-2", "9000.00")
    assert again.status_code == 200 and again.json() == doc
    assert _order(api, "SO-2", "9100.00").json()["code"] == "idempotency_conflict"
    assert [d["reference"] for d in api.get(R + "/drawings?status=held").json()["items"]] == ["SO-2"]

    # the vendor enrols the reseller: the same transaction posts the held order
    created = api.post(MS, who="partner", json=MEZZANINE)
    assert created.status_code == 201, created.text
    enrolled = api.post(
        f"{MS}/mezzanine@actebis/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-1001"}]}
    )
    assert enrolled.json()["results"][0]["outcome"] == "granted"

    released = api.get(R + "/drawings/SO-2").json()
    assert released["status"] == "open" and released["outstanding"] == eur("9000.00")
    assert [(a["funder"], a["amount"]) for a in released["allocations"]] == [
        ("actebis", eur("5800.00")),
        ("microsoft", eur("3200.00")),
    ]
    assert released["hold"]["released_at"] == "2026-03-02T09:00:00Z"
    assert api.get(R + "/availability").json()["total_available"] == eur("1800.00")
    assert api.get(R + "/drawings?status=held").json()["items"] == []
    (event,) = _events(api, "drawing.hold_released")
    assert event["data"]["reference"] == "SO-2" and event["data"]["cause"] == "line_granted"
    assert [e["data"]["reference"] for e in _events(api, "drawing.held")] == ["SO-2"]


def test_two_held_orders_and_a_payment_that_frees_room_for_the_first_only(api):
    _reseller(api)
    assert (
        api.post(R + "/drawings", who="integration", json={"reference": "SO-1", "amount": eur("9000.00")}).status_code
        == 201
    )
    clock.set_now("2026-03-02T09:00:00+00:00")
    assert _order(api, "SO-2", "3000.00").status_code == 202
    clock.set_now("2026-03-02T09:05:00+00:00")
    assert _order(api, "SO-3", "2500.00").status_code == 202
    clock.set_now("2026-03-02T10:00:00+00:00")

    _pay(api, "SO-1", "PAY-1", "4000.00")  # available 1,000 + 4,000 = 5,000: room for SO-2 (3,000) only

    assert api.get(R + "/drawings/SO-2").json()["status"] == "open"
    still = api.get(R + "/drawings/SO-3").json()
    assert still["status"] == "held" and still["hold"]["shortfall"] == eur("1500.00")  # as when it was held
    listing = api.get(D + "/held-orders").json()["items"]
    assert [(i["reseller_id"], i["drawing"]["reference"], i["shortfall_now"]) for i in listing] == [
        ("R-1001", "SO-3", eur("500.00"))  # 2,000 available now
    ]
    csv = api.get(D + "/held-orders", headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    header, row = csv.text.splitlines()
    assert header.split(",") == [
        "reseller_id",
        "reference",
        "held_at",
        "expires_at",
        "amount",
        "vendor_id",
        "reasons",
        "available_now",
        "shortfall_now",
    ]
    assert row.split(",") == [
        "R-1001",
        "SO-3",
        "2026-03-02T09:05:00+00:00",
        "2026-03-09T09:05:00+00:00",
        "2500.00",
        "",
        "insufficient_credit",
        "2000.00",
        "500.00",
    ]

    _pay(api, "SO-2", "PAY-2", "500.00")  # 2,500 available: SO-3 fits exactly
    assert api.get(R + "/drawings/SO-3").json()["status"] == "open"
    assert api.get(R + "/availability").json()["total_available"] == eur("0.00")


def test_an_order_held_on_an_account_hold_is_released_when_the_hold_is_lifted(api):
    _reseller(api)
    assert api.post(R + "/hold", json={"reason": "cheque bounced"}).status_code == 200
    refused = api.post(R + "/drawings", who="integration", json={"reference": "SO-0", "amount": eur("1000.00")})
    assert refused.status_code == 409 and refused.json()["code"] == "account_on_hold"

    held = _order(api, "SO-1", "2000.00")
    assert held.status_code == 202
    assert held.json()["hold"]["reasons"] == ["account_on_hold"] and held.json()["hold"]["shortfall"] is None
    _pay_nothing_yet = api.get(R + "/drawings/SO-1").json()
    assert _pay_nothing_yet["status"] == "held"

    assert api.delete(R + "/hold", json={"reason": "cheque cleared"}).status_code == 200
    released = api.get(R + "/drawings/SO-1").json()
    assert released["status"] == "open" and released["allocations"][0]["amount"] == eur("2000.00")
    assert _events(api, "drawing.hold_released")[0]["data"]["cause"] == "hold_lifted"


def test_a_held_order_expires_after_hold_days_and_is_never_released(api):
    _reseller(api, limit="1000.00")
    patched = api.request("PATCH", D, json={"hold_days": 3})
    assert patched.status_code == 200 and patched.json()["hold_days"] == 3
    assert api.request("PATCH", D, json={"hold_days": 91}).status_code == 422
    assert _order(api, "SO-1", "1500.00").json()["hold"]["expires_at"] == "2026-03-05T09:00:00Z"

    clock.set_now("2026-03-05T08:59:59+00:00")
    assert api.get(R + "/drawings/SO-1").json()["status"] == "held"
    clock.set_now("2026-03-05T09:00:00+00:00")  # from this instant, whether or not the job ran
    assert api.get(R + "/drawings/SO-1").json()["status"] == "expired"
    assert [d["reference"] for d in api.get(R + "/drawings?status=expired").json()["items"]] == ["SO-1"]
    assert api.get(D + "/held-orders").json()["items"] == []

    # a raise that would fit it releases nothing: it expired (and is written so now)
    api.put(R + "/base-limit", json={"limit": eur("2000.00"), "reason": "cover up"})
    assert api.get(R + "/drawings/SO-1").json()["status"] == "expired"
    assert api.get(R + "/availability").json()["total_available"] == eur("2000.00")
    assert [e["data"]["reference"] for e in _events(api, "drawing.hold_expired")] == ["SO-1"]
    assert api.delete(R + "/drawings/SO-1", who="integration").json()["code"] == "not_held"


def test_a_held_order_is_cancelled_once_and_an_open_drawing_is_not_held(api):
    _reseller(api, limit="1000.00")
    assert _order(api, "SO-1", "1500.00").status_code == 202
    assert (
        api.post(R + "/drawings", who="integration", json={"reference": "SO-2", "amount": eur("100.00")}).status_code
        == 201
    )

    cancelled = api.delete(R + "/drawings/SO-1", who="integration")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.delete(R + "/drawings/SO-1", who="integration").json()["status"] == "cancelled"
    not_held = api.delete(R + "/drawings/SO-2", who="integration")
    assert not_held.status_code == 409 and not_held.json()["code"] == "not_held"
    assert api.delete(R + "/drawings/SO-9", who="integration").status_code == 404

    api.put(R + "/base-limit", json={"limit": eur("5000.00"), "reason": "cover up"})
    assert api.get(R + "/drawings/SO-1").json()["status"] == "cancelled"
    assert [e["type"] for e in _events(api, "drawing.held", "drawing.hold_cancelled")] == [
        "drawing.held",
        "drawing.hold_cancelled",
    ]


def test_a_terminated_reseller_s_order_is_never_held(api):
    _reseller(api)
    api.post(R + "/termination", json={"reason": "insolvent"})
    refused = _order(api, "SO-1", "100.00")
    assert refused.status_code == 409 and refused.json()["code"] == "reseller_terminated"
    assert api.get(R + "/drawings/SO-1").status_code == 404
