"""Partnerships (SPEC §11): a vendor funds lines only where a distributor admitted it.

The story: Microsoft runs Mezzanine at Actebis. Ingram Micro has never admitted Microsoft, so
Microsoft's partner manager can neither create a programme there nor learn anything about
Ingram's resellers. Ingram then admits Microsoft with lines capped at EUR 3,000, and later ends
the partnership: nothing new is granted, the lines already granted run to their end.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import eur

MS = "/v1/vendors/microsoft/programmes"
INGRAM = "/v1/distributors/ingram"
BOOST = {
    "code": "boost",
    "distributor_id": "ingram",
    "name": "Ingram boost",
    "kind": "standing",
    "line_limit": eur("3000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
}
OEM = {
    "code": "oem",
    "distributor_id": "ingram",
    "name": "Office OEM at Ingram",
    "kind": "purchase_triggered",
    "line_limit": eur("2000.00"),
    "starts_on": "2026-01-01",
    "ends_on": "2026-12-31",
    "trigger": {"product_category": "office_oem", "min_amount": eur("1000.00")},
    "line_duration_months": 6,
}


@pytest.fixture
def ingram(api):
    assert (
        api.post(
            "/v1/distributors",
            who="admin",
            json={"id": "ingram", "name": "Ingram Micro", "currency": "EUR", "timezone": "Europe/Paris"},
        ).status_code
        == 201
    )
    api.keys["ingram officer"] = api.key("credit_officer", distributor_id="ingram")
    api.keys["ingram erp"] = api.key("integration", distributor_id="ingram")
    for r in ("IM-1", "IM-2", "IM-3"):
        api.put(f"{INGRAM}/resellers/{r}", who="ingram officer", json={"name": r})
        api.put(
            f"{INGRAM}/resellers/{r}/base-limit",
            who="ingram officer",
            json={"limit": eur("10000.00"), "reason": "cover"},
        )
    api.post(f"{INGRAM}/resellers/IM-3/termination", who="ingram officer", json={"reason": "insolvent"})
    return api


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_a_vendor_never_admitted_can_do_nothing_and_learns_nothing(ingram):
    api = ingram
    _refused(api.post(MS, who="partner", json=BOOST), 403, "vendor_not_admitted")
    # The same answer for a distributor that does not exist: the key learns nothing from it.
    _refused(api.post(MS, who="partner", json={**BOOST, "distributor_id": "nowhere"}), 403, "vendor_not_admitted")
    # Enrolling resellers of a distributor that never admitted it: no outcome per reseller, so it
    # cannot tell which ids exist or are terminated.
    for pid in ("boost@ingram", "boost@nowhere"):
        enrol = api.post(
            f"{MS}/{pid}/enrolments",
            who="partner",
            json={"resellers": [{"reseller_id": "IM-1"}, {"reseller_id": "IM-3"}, {"reseller_id": "X"}]},
        )
        _refused(enrol, 403, "vendor_not_admitted")
        _refused(api.get(f"{MS}/{pid}", who="partner"), 403, "vendor_not_admitted")
        _refused(
            api.request("PATCH", f"{MS}/{pid}", who="partner", json={"status": "closed"}), 403, "vendor_not_admitted"
        )
        _refused(api.get(f"{MS}/{pid}/lines", who="partner"), 403, "vendor_not_admitted")
    # Nothing was written at Ingram.
    lines = api.get(f"{INGRAM}/resellers/IM-1/availability", who="ingram officer").json()["lines"]
    assert [line["kind"] for line in lines] == ["base"]
    assert api.get("/v1/vendors/microsoft/distributors", who="partner").json()["items"] == [
        item
        for item in api.get("/v1/vendors/microsoft/distributors", who="partner").json()["items"]
        if item["distributor_id"] != "ingram"
    ]


def test_admitted_with_a_cap_then_ended(ingram):
    api = ingram
    admitted = api.put(
        f"{INGRAM}/vendors/microsoft",
        who="ingram officer",
        json={"max_line_limit": eur("3000.00"), "note": "Mezzanine agreement 2026"},
    )
    assert admitted.status_code == 201, admitted.text
    body = admitted.json()
    assert body["status"] == "active" and body["max_line_limit"] == eur("3000.00")
    assert body["requires_approval"] is False and body["ended_at"] is None
    # The same terms again: 200, nothing changed.
    again = api.put(
        f"{INGRAM}/vendors/microsoft",
        who="ingram officer",
        json={"max_line_limit": eur("3000.00"), "note": "Mezzanine agreement 2026"},
    )
    assert again.status_code == 200 and again.json() == body

    _refused(api.post(MS, who="partner", json={**BOOST, "line_limit": eur("3000.01")}), 422, "limit_above_partnership")
    assert api.post(MS, who="partner", json=BOOST).status_code == 201
    enrol = api.post(
        f"{MS}/boost@ingram/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "IM-1"}, {"reseller_id": "IM-3"}]},
    )
    assert [r["outcome"] for r in enrol.json()["results"]] == ["granted", "not_eligible"]

    # Ingram lowers the cap: a larger explicit limit is refused as a whole, nothing enrolled.
    api.put(f"{INGRAM}/vendors/microsoft", who="ingram officer", json={"max_line_limit": eur("2000.00")})
    capped = api.post(
        f"{MS}/boost@ingram/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "IM-2", "limit": eur("2500.00")}]},
    )
    _refused(capped, 422, "limit_above_partnership")
    assert api.post(MS, who="partner", json=OEM).status_code == 201

    ended = api.delete(f"{INGRAM}/vendors/microsoft", who="ingram officer")
    assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    assert api.delete(f"{INGRAM}/vendors/microsoft", who="ingram officer").json() == ended.json()

    _refused(api.post(MS, who="partner", json={**BOOST, "code": "boost-2"}), 409, "partnership_ended")
    _refused(
        api.post(f"{MS}/boost@ingram/enrolments", who="partner", json={"resellers": [{"reseller_id": "IM-2"}]}),
        409,
        "partnership_ended",
    )
    _refused(
        api.request("PATCH", f"{MS}/boost@ingram", who="partner", json={"ends_on": "2026-09-30"}),
        409,
        "partnership_ended",
    )
    event = api.post(
        f"{INGRAM}/purchase-events",
        who="ingram erp",
        json={
            "event_id": "EV-1",
            "reseller_id": "IM-2",
            "vendor_id": "microsoft",
            "product_category": "office_oem",
            "amount": eur("1500.00"),
            "occurred_at": "2026-03-02T09:00:00+01:00",
        },
    )
    assert event.status_code == 201
    assert {(r["programme_id"], r["outcome"]) for r in event.json()["results"]} == {
        ("boost@ingram", "not_qualifying"),
        ("oem@ingram", "not_eligible"),
    }

    # What was granted runs on: IM-1 still has its line; the vendor can still read and wind down.
    lines = api.get(f"{INGRAM}/resellers/IM-1/availability", who="ingram officer").json()["lines"]
    assert [(line["kind"], line["limit"]) for line in lines] == [
        ("base", eur("10000.00")),
        ("programme", eur("3000.00")),
    ]
    assert api.get(f"{MS}/boost@ingram", who="partner").json()["beneficiaries"] == 1
    assert (
        api.request("PATCH", f"{MS}/boost@ingram", who="partner", json={"status": "closed"}).json()["status"]
        == "closed"
    )

    mine = {
        p["distributor_id"]: p for p in api.get("/v1/vendors/microsoft/distributors", who="partner").json()["items"]
    }
    assert mine["ingram"]["status"] == "ended" and mine["actebis"]["status"] == "active"
    history = api.get(f"{INGRAM}/vendors/microsoft/history", who="ingram officer").json()
    assert [(e["kind"], e["status_after"], e["max_line_limit_after"]) for e in history] == [
        ("admitted", "active", eur("3000.00")),
        ("updated", "active", eur("2000.00")),
        ("ended", "ended", eur("2000.00")),
    ]
    assert all(e["actor"].startswith("credit_officer:") for e in history)

    # Re-admitted without a cap (a field left out would keep its value: the cap of 2,000): grants resume.
    again = api.put(f"{INGRAM}/vendors/microsoft", who="ingram officer", json={"max_line_limit": None})
    assert again.status_code == 200 and again.json()["status"] == "active" and again.json()["ended_at"] is None
    assert api.post(MS, who="partner", json={**BOOST, "code": "boost-2"}).status_code == 201


def test_requires_approval_stops_direct_enrolment(ingram):
    """The enrolment becomes a nomination the distributor decides (SPEC §12): no line yet."""
    api = ingram
    api.put(f"{INGRAM}/vendors/microsoft", who="ingram officer", json={"requires_approval": True})
    assert api.post(MS, who="partner", json=BOOST).status_code == 201
    enrolled = api.post(f"{MS}/boost@ingram/enrolments", who="partner", json={"resellers": [{"reseller_id": "IM-1"}]})
    assert enrolled.status_code == 200, enrolled.text
    [result] = enrolled.json()["results"]
    assert result["outcome"] == "pending_approval" and result["nomination_id"] and result["line"] is None
    lines = api.get(f"{INGRAM}/resellers/IM-1/availability", who="ingram officer").json()["lines"]
    assert len(lines) == 1


def test_who_may_admit(ingram):
    api = ingram
    _refused(api.put(f"{INGRAM}/vendors/microsoft", who="partner", json={}), 403, "forbidden")
    _refused(api.put(f"{INGRAM}/vendors/microsoft", who="officer", json={}), 403, "forbidden")  # Actebis' officer
    _refused(api.put(f"{INGRAM}/vendors/microsoft", who="ingram erp", json={}), 403, "forbidden")
    _refused(api.get(f"{INGRAM}/vendors", who="partner"), 403, "forbidden")
    _refused(api.get("/v1/vendors/hp/distributors", who="partner"), 403, "forbidden")
    assert api.put(f"{INGRAM}/vendors/microsoft", who="admin", json={}).status_code == 201
    _refused(api.put(f"{INGRAM}/vendors/nobody", who="ingram officer", json={}), 404, "not_found")
    _refused(
        api.put(f"{INGRAM}/vendors/hp", who="ingram officer", json={"max_line_limit": eur("-1.00")}),
        422,
        "invalid_amount",
    )
    _refused(
        api.put(
            f"{INGRAM}/vendors/hp",
            who="ingram officer",
            json={"max_line_limit": {"amount": "10.00", "currency": "USD"}},
        ),
        422,
        "currency_mismatch",
    )
    listed = api.get(f"{INGRAM}/vendors", who="ingram officer", params={"limit": 1}).json()
    assert [p["vendor_id"] for p in listed["items"]] == ["microsoft"] and listed["next_cursor"] is None
