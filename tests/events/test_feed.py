"""The distributor's feed told as the credit desk lives it, and the vendor's feed beside it."""

from __future__ import annotations

import json

from creditlines import clock
from creditlines.jobs.expiry import run_expiry
from tests.api.conftest import eur

D = "/v1/distributors/actebis"


def feed(api, path=f"{D}/events", who="officer", **params):
    """Every event of a feed, following next_cursor page by page (2 at a time)."""
    items, after = [], None
    while True:
        page = api.get(path, who=who, params={"limit": 2, **({"after": after} if after else {}), **params})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if not body["items"]:
            return items
        after = body["next_cursor"]


def types(items):
    return [e["type"] for e in items]


def test_the_credit_desk_follows_r1_from_opening_to_payment(api):
    # Actebis opens R-1 with a base line of 10,000.
    api.put(f"{D}/resellers/R-1", json={"name": "Dupont Informatique"})
    api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("10000.00"), "reason": "insurer cover"})
    # The ERP posts an order of 7,000: 70 % used.
    assert (
        api.post(
            f"{D}/resellers/R-1/drawings", who="integration", json={"reference": "FA/2026/1", "amount": eur("7000.00")}
        ).status_code
        == 201
    )
    # Another of 1,600: 86 %, past 85 %.
    api.post(
        f"{D}/resellers/R-1/drawings", who="integration", json={"reference": "FA/2026/2", "amount": eur("1600.00")}
    )
    # An order of 2,000 is refused: 1,400 left. Nothing is stored, but the feed says why.
    refused = api.post(
        f"{D}/resellers/R-1/drawings", who="integration", json={"reference": "FA/2026/3", "amount": eur("2000.00")}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_credit"
    # The insurer cuts: the officer lowers the base to 8,000 — R-1 is over limit (8,600 drawn).
    api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("8000.00"), "reason": "insurer cut"})
    # R-1 pays the first invoice in full: settled, and back within its limit.
    api.post(
        f"{D}/resellers/R-1/drawings/FA%2F2026%2F1/releases",
        who="integration",
        json={"reference": "VIR-1", "amount": eur("7000.00"), "kind": "payment"},
    )
    api.post(f"{D}/resellers/R-1/hold", json={"reason": "late payment"})
    on_hold = api.post(
        f"{D}/resellers/R-1/drawings", who="integration", json={"reference": "FA/2026/4", "amount": eur("10.00")}
    )
    assert on_hold.json()["code"] == "account_on_hold"
    api.delete(f"{D}/resellers/R-1/hold", json={"reason": "paid"})

    items = feed(api)
    assert types(items) == [
        "reseller.created",
        "limit.changed",
        "drawing.created",
        "reseller.utilisation_crossed",
        "drawing.created",
        "reseller.utilisation_crossed",
        "drawing.refused",
        "limit.changed",
        "reseller.utilisation_crossed",
        "reseller.over_limit",
        "drawing.settled",
        "reseller.back_within_limit",
        "reseller.hold_placed",
        "drawing.refused",
        "reseller.hold_lifted",
    ]
    crossings = [e["data"]["threshold"] for e in items if e["type"] == "reseller.utilisation_crossed"]
    assert crossings == [70, 85, 100]  # each once, upward
    first = items[2]
    assert first["data"]["reference"] == "FA/2026/1" and first["data"]["amount"] == eur("7000.00")
    assert first["data"]["allocations"][0]["amount"] == eur("7000.00") and first["reseller_id"] == "R-1"
    assert items[6]["data"] | {} == {
        "reference": "FA/2026/3",
        "amount": eur("2000.00"),
        "vendor_id": None,
        "reasons": ["insufficient_credit"],
        "available": eur("1400.00"),
        "shortfall": eur("600.00"),
    }
    assert items[7]["data"]["before"] == eur("10000.00") and items[7]["data"]["after"] == eur("8000.00")
    assert items[9]["data"]["total_drawn"] == eur("8600.00") and items[9]["data"]["total_limit"] == eur("8000.00")
    assert items[13]["data"]["reasons"] == ["account_on_hold"]
    assert len({e["id"] for e in items}) == len(items)

    # The ERP only wants drawings: the same order, filtered in the query.
    assert types(feed(api, who="integration", types="drawing.created,drawing.refused")) == [
        "drawing.created",
        "drawing.created",
        "drawing.refused",
        "drawing.refused",
    ]
    # An empty page still gives the cursor to poll with; a cursor not from us is refused.
    last = api.get(f"{D}/events", params={"limit": 500}).json()
    again = api.get(f"{D}/events", params={"after": last["next_cursor"]}).json()
    assert again == {"items": [], "next_cursor": last["next_cursor"]}
    for bad in ("nope", "eyJrIjogLTF9", "a" * 501):
        assert api.get(f"{D}/events", params={"after": bad}).status_code == 422
    assert api.get(f"{D}/events", params={"types": "drawing.exploded"}).json()["code"] == "validation_error"
    assert api.get("/v1/distributors/nobody/events", who="admin").status_code == 404


def test_microsoft_sees_its_mezzanine_lines_and_budget_never_a_base_limit(api):
    api.put(f"{D}/resellers/R-1", json={"name": "R-1"})
    api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("12345.00"), "reason": "cover"})
    programme = {
        "code": "mezzanine",
        "distributor_id": "actebis",
        "name": "Mezzanine",
        "kind": "standing",
        "line_limit": eur("5000.00"),
        "starts_on": "2026-03-01",
        "ends_on": "2026-06-30",
        "budget": {"max_beneficiaries": 1},
    }
    assert api.post("/v1/vendors/microsoft/programmes", who="partner", json=programme).status_code == 201
    enrolled = api.post(
        "/v1/vendors/microsoft/programmes/mezzanine@actebis/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "R-1"}]},
    )
    assert enrolled.json()["results"][0]["outcome"] == "granted"
    api.post(f"{D}/resellers/R-1/drawings", who="integration", json={"reference": "FA-9", "amount": eur("15000.00")})
    api.post(f"{D}/resellers/R-1/termination", json={"reason": "insolvent"})

    mine = feed(api, "/v1/vendors/microsoft/events", who="partner")
    assert types(mine) == [
        "line.granted",
        "programme.utilisation_crossed",
        "programme.utilisation_crossed",
        "programme.utilisation_crossed",
        "line.revoked",
    ]
    assert mine[0]["data"]["limit"] == eur("5000.00") and mine[0]["vendor_id"] == "microsoft"
    assert [e["data"]["threshold"] for e in mine[1:4]] == [70, 85, 100]
    assert mine[4]["data"]["transferred"] == eur("2655.00")  # what was drawn on Mezzanine moves to base
    text = json.dumps(mine)
    assert "12345" not in text and "15000" not in text and "total_limit" not in text
    # The officer's feed has it all; HP's has nothing of Microsoft's.
    assert "line.granted" in types(feed(api)) and "drawing.created" in types(feed(api))
    api.keys["hp"] = api.key("partner_manager", vendor_id="hp")
    assert feed(api, "/v1/vendors/hp/events", who="hp") == []
    # Scopes: a partner never reads a distributor feed, an officer never a vendor's.
    assert api.get(f"{D}/events", who="partner").status_code == 403
    assert api.get("/v1/vendors/microsoft/events", who="officer").status_code == 403
    assert api.get("/v1/vendors/hp/events", who="partner").status_code == 403


def test_the_nightly_job_warns_30_and_7_days_before_once_each(api):
    api.put(f"{D}/resellers/R-1", json={"name": "R-1"})
    programme = {
        "code": "mezzanine",
        "distributor_id": "actebis",
        "name": "Mezzanine",
        "kind": "standing",
        "line_limit": eur("5000.00"),
        "starts_on": "2026-03-01",
        "ends_on": "2026-06-30",
    }
    api.post("/v1/vendors/microsoft/programmes", who="partner", json=programme)
    api.post(
        "/v1/vendors/microsoft/programmes/mezzanine@actebis/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "R-1"}]},
    )
    # R-1 has no base credit: an order of 3,000 is all on Mezzanine (60 % of its 5,000).
    assert (
        api.post(
            f"{D}/resellers/R-1/drawings", who="integration", json={"reference": "FA-1", "amount": eur("3000.00")}
        ).status_code
        == 201
    )

    def night(instant: str) -> list[str]:
        clock.set_now(instant)
        run_expiry(api.uow)
        return [
            (e["type"], e["data"].get("days_before")) for e in feed(api, "/v1/vendors/microsoft/events", who="partner")
        ][1:]

    assert night("2026-05-30T01:00:00+00:00") == []  # 31 days before 30 June
    assert night("2026-05-31T01:00:00+00:00") == [("line.expiring", 30)]
    assert night("2026-05-31T01:30:00+00:00") == [("line.expiring", 30)]  # the night replayed: nothing twice
    assert night("2026-06-23T01:00:00+00:00") == [("line.expiring", 30), ("line.expiring", 7)]
    assert night("2026-06-30T21:00:00+00:00") == [("line.expiring", 30), ("line.expiring", 7)]  # still valid (Paris)
    after = night("2026-06-30T23:00:00+00:00")  # 1 July in Paris
    assert after[-1] == ("line.expired", None) and len(after) == 3
    # The 3,000 moved to a base line of 0: the credit desk learns R-1 is over its limit.
    alerts = [e for e in feed(api) if e["type"].startswith("reseller.")][1:]
    assert [(e["type"], e["data"].get("threshold"), e["data"]["cause"]) for e in alerts] == [
        ("reseller.utilisation_crossed", 70, "line_expired"),
        ("reseller.utilisation_crossed", 85, "line_expired"),
        ("reseller.utilisation_crossed", 100, "line_expired"),
        ("reseller.over_limit", None, "line_expired"),
    ]
    assert alerts[-1]["data"]["total_drawn"] == eur("3000.00") and alerts[-1]["data"]["total_limit"] == eur("0.00")
