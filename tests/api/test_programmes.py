"""The two field programmes, told through the API by the people who use them."""

import pytest

from creditlines import clock
from tests.api.conftest import eur

MS = "/v1/vendors/microsoft/programmes"


@pytest.fixture
def field(api):
    api.post(
        "/v1/distributors",
        who="admin",
        json={"id": "etc", "name": "ETC", "currency": "EUR", "timezone": "Europe/Paris"},
    )
    api.keys["etc officer"] = api.key("credit_officer", distributor_id="etc")
    api.keys["etc erp"] = api.key("integration", distributor_id="etc")
    api.keys["hp partner"] = api.key("partner_manager", vendor_id="hp")
    # ETC admits Microsoft (Actebis admitted both vendors in make_world).
    assert api.put("/v1/distributors/etc/vendors/microsoft", who="etc officer", json={}).status_code == 201
    for d, who, resellers in (
        ("actebis", "officer", ["R-1", "R-2", "R-3", "R-4", "R-5"]),
        ("etc", "etc officer", ["E-1", "E-2"]),
    ):
        for r in resellers:
            api.put(f"/v1/distributors/{d}/resellers/{r}", who=who, json={"name": r})
            api.put(
                f"/v1/distributors/{d}/resellers/{r}/base-limit",
                who=who,
                json={"limit": eur("10000.00"), "reason": "cover"},
            )
    api.post("/v1/distributors/actebis/resellers/R-4/termination", json={"reason": "insolvent"})
    return api


MEZZANINE = {
    "code": "mezzanine",
    "distributor_id": "actebis",
    "name": "Microsoft Mezzanine",
    "kind": "standing",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
    "budget": {"max_beneficiaries": 2},
}
OEM = {
    "code": "office-oem",
    "distributor_id": "etc",
    "name": "Office OEM booster",
    "kind": "purchase_triggered",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-01-01",
    "ends_on": "2026-12-31",
    "trigger": {"product_category": "office_oem", "min_amount": eur("1000.00")},
    "line_duration_months": 6,
}


def test_mezzanine_up_to_5000_until_30_june_for_vendor_chosen_resellers(field):
    api = field
    created = api.post(MS, who="partner", json=MEZZANINE)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert pid == "mezzanine@actebis" and created.json()["beneficiaries"] == 0
    assert api.post(MS, who="partner", json=MEZZANINE).status_code == 200  # same definition: same programme

    enrolled = api.post(
        f"{MS}/{pid}/enrolments",
        who="partner",
        json={
            "resellers": [
                {"reseller_id": "R-1"},
                {"reseller_id": "R-2", "limit": eur("3000.00")},
                {"reseller_id": "R-9"},
                {"reseller_id": "R-4"},
                {"reseller_id": "R-5"},
            ]
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    outcomes = {r["reseller_id"]: r["outcome"] for r in enrolled.json()["results"]}
    assert outcomes == {
        "R-1": "granted",
        "R-2": "granted",
        "R-9": "unknown_reseller",
        "R-4": "not_eligible",
        "R-5": "budget_exhausted",
    }
    r1_line = enrolled.json()["results"][0]["line"]
    assert (
        r1_line["limit"] == eur("5000.00")
        and r1_line["valid_until"] == "2026-06-30"
        and r1_line["funder"] == "microsoft"
    )
    again = api.post(f"{MS}/{pid}/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-1"}]})
    assert again.json()["results"][0]["outcome"] == "already_granted"
    over = api.post(
        f"{MS}/{pid}/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-3", "limit": eur("5000.01")}]}
    )
    assert over.status_code == 422 and over.json()["code"] == "invalid_amount"

    # The credit officer sees the vendor line and an order of 12,000 flows into it.
    view = api.get("/v1/distributors/actebis/resellers/R-1/availability").json()
    assert view["total_available"] == eur("15000.00")
    assert [(ln["kind"], ln["funder"], ln["programme_id"]) for ln in view["lines"]] == [
        ("base", "actebis", None),
        ("programme", "microsoft", "mezzanine@actebis"),
    ]
    order = api.post(
        "/v1/distributors/actebis/resellers/R-1/drawings",
        who="integration",
        json={"reference": "SO-12000", "amount": eur("12000.00")},
    ).json()
    assert [(a["funder"], a["amount"]) for a in order["allocations"]] == [
        ("actebis", eur("10000.00")),
        ("microsoft", eur("2000.00")),
    ]

    # The partner manager watches utilisation and the lines, never a base limit.
    programme = api.get(f"{MS}/{pid}", who="partner").json()
    assert programme["beneficiaries"] == 2
    assert programme["total_limit"] == eur("8000.00") and programme["total_drawn"] == eur("2000.00")
    assert programme["budget_left"] == {"beneficiaries": 0, "total_limit": None}
    lines = api.get(f"{MS}/{pid}/lines", who="partner").json()["items"]
    assert [(ln["reseller_id"], ln["limit"], ln["drawn"]) for ln in lines] == [
        ("R-1", eur("5000.00"), eur("2000.00")),
        ("R-2", eur("3000.00"), eur("0.00")),
    ]
    # Never the base line nor its amount (an id may contain the digits "10000": look at amounts only).
    amounts = {m["amount"] for ln in lines for m in (ln["limit"], ln["drawn"])}
    assert "10000.00" not in amounts and all(ln["funder"] == "microsoft" and ln["programme_id"] for ln in lines)

    # Microsoft moves the end of Mezzanine: the lines move with it, and the ledger says so.
    moved = api.request("PATCH", f"{MS}/{pid}", who="partner", json={"ends_on": "2026-07-31"})
    assert moved.status_code == 200 and moved.json()["ends_on"] == "2026-07-31"
    lines = api.get(f"{MS}/{pid}/lines", who="partner").json()["items"]
    assert {ln["valid_until"] for ln in lines} == {"2026-07-31"}
    ledger = api.get("/v1/distributors/actebis/resellers/R-1/ledger").json()["items"]
    assert ledger[-1]["kind"] == "line_valid_until_set" and ledger[-1]["valid_until_after"] == "2026-07-31"

    # A budget cannot be set below what is already granted.
    lowered = api.request("PATCH", f"{MS}/{pid}", who="partner", json={"budget": {"max_beneficiaries": 1}})
    assert lowered.status_code == 409 and lowered.json()["code"] == "budget_exhausted"

    # Closing grants nothing more; existing lines run to their end.
    closed = api.request("PATCH", f"{MS}/{pid}", who="partner", json={"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    refused = api.post(f"{MS}/{pid}/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-3"}]})
    assert refused.status_code == 409 and refused.json()["code"] == "programme_closed"
    reopened = api.request("PATCH", f"{MS}/{pid}", who="partner", json={"status": "active"})
    assert reopened.status_code == 409 and reopened.json()["code"] == "programme_closed"
    assert api.get("/v1/distributors/actebis/resellers/R-1/availability").json()["total_available"] == eur("3000.00")


def test_each_side_sees_only_its_own(field):
    api = field
    pid = api.post(MS, who="partner", json=MEZZANINE).json()["id"]
    for path in (MS, f"{MS}/{pid}", f"{MS}/{pid}/lines"):
        assert api.get(path, who="hp partner").status_code == 403
        assert api.get(path, who="officer").status_code == 403
    assert api.get("/v1/vendors/hp/programmes", who="hp partner").json() == []
    assert api.get("/v1/distributors/actebis/resellers/R-1", who="partner").status_code == 403
    assert api.get("/v1/distributors/actebis/resellers/R-1/availability", who="partner").status_code == 403
    assert api.post("/v1/distributors/etc/purchase-events", who="partner", json={}).status_code == 403
    assert api.post(MS, who="integration", json=MEZZANINE).status_code == 403


def _event(
    api,
    event_id,
    amount="1000.00",
    category="office_oem",
    occurred_at="2026-03-02T10:00:00+01:00",
    reseller="E-1",
    vendor="microsoft",
):
    return api.post(
        "/v1/distributors/etc/purchase-events",
        who="etc erp",
        json={
            "event_id": event_id,
            "reseller_id": reseller,
            "vendor_id": vendor,
            "product_category": category,
            "amount": eur(amount),
            "occurred_at": occurred_at,
        },
    )


def test_office_oem_of_1000_gives_5000_for_6_months(field):
    api = field
    assert api.post(MS, who="partner", json=OEM).status_code == 201
    small = _event(api, "EV-1", amount="999.99")
    assert small.status_code == 201
    assert small.json()["results"] == [
        {
            "programme_id": "office-oem@etc",
            "outcome": "not_qualifying",
            "reason": "purchase below the programme's minimum",
            "line": None,
        }
    ]
    other = _event(api, "EV-2", category="windows_oem", amount="50000.00")
    assert other.json()["results"][0]["outcome"] == "not_qualifying"

    granted = _event(api, "EV-3")
    assert granted.status_code == 201
    result = granted.json()["results"][0]
    assert result["outcome"] == "granted"
    assert (result["line"]["valid_from"], result["line"]["valid_until"]) == ("2026-03-02", "2026-09-01")
    view = api.get("/v1/distributors/etc/resellers/E-1/availability", who="etc officer").json()
    assert view["total_available"] == eur("15000.00")
    assert view["lines"][1]["programme_id"] == "office-oem@etc"

    replay = _event(api, "EV-3")
    assert replay.status_code == 200 and replay.json() == granted.json()
    conflict = _event(api, "EV-3", amount="1000.01")
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"

    with clock.frozen("2026-05-10T09:00:00+02:00"):
        extended = _event(api, "EV-4", amount="2500.00", occurred_at="2026-05-10T08:00:00+02:00")
    assert extended.json()["results"][0]["outcome"] == "extended"
    assert extended.json()["results"][0]["line"]["valid_until"] == "2026-11-09"
    assert extended.json()["results"][0]["line"]["id"] == result["line"]["id"]  # never a second line
    lines = api.get("/v1/vendors/microsoft/programmes/office-oem@etc/lines", who="partner").json()["items"]
    assert len(lines) == 1 and lines[0]["valid_until"] == "2026-11-09"


def test_purchase_events_at_the_edges(field):
    api = field
    api.post(MS, who="partner", json=OEM)
    # 23:30 UTC on 31 August is 1 September in Paris: the trigger date is the local one.
    with clock.frozen("2026-09-02T09:00:00+02:00"):
        late = _event(api, "EV-TZ", occurred_at="2026-08-31T23:30:00+00:00", reseller="E-2")
    assert late.json()["results"][0]["line"]["valid_from"] == "2026-09-01"
    assert late.json()["results"][0]["line"]["valid_until"] == "2027-02-28"
    with clock.frozen("2026-09-02T09:00:00+02:00"):
        hp = _event(api, "EV-HP", vendor="hp")
        unknown = _event(api, "EV-X", reseller="NOPE")
        future = _event(api, "EV-F", occurred_at="2026-09-03T09:00:00+02:00")
        naive = _event(api, "EV-N", occurred_at="2026-09-01T09:00:00")
        api.post("/v1/distributors/etc/resellers/E-1/termination", who="etc officer", json={"reason": "closed"})
        terminated = _event(api, "EV-T", occurred_at="2026-09-01T09:00:00+02:00")
    assert hp.status_code == 201 and hp.json()["results"] == []
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert future.status_code == 422 and naive.status_code == 422
    assert terminated.json()["results"][0]["outcome"] == "not_eligible"
    outside = _event(api, "EV-OLD", occurred_at="2025-12-31T10:00:00+01:00", reseller="E-2")
    assert outside.json()["results"][0]["outcome"] == "not_qualifying"


def test_month_end_trigger():
    from datetime import date

    from creditlines.dates import months_validity_end

    assert months_validity_end(date(2026, 8, 31), 6) == date(2027, 2, 27)


def test_budget_of_total_limit_stops_events(field):
    api = field
    api.post(MS, who="partner", json={**OEM, "budget": {"max_total_limit": eur("5000.00")}})
    assert _event(api, "EV-A", reseller="E-1").json()["results"][0]["outcome"] == "granted"
    assert _event(api, "EV-B", reseller="E-2").json()["results"][0]["outcome"] == "budget_exhausted"
    programme = api.get("/v1/vendors/microsoft/programmes/office-oem@etc", who="partner").json()
    assert programme["budget_left"] == {"beneficiaries": None, "total_limit": eur("0.00")}


def test_a_programme_is_in_its_distributors_currency(field):
    api = field
    usd = api.post(MS, who="partner", json={**MEZZANINE, "line_limit": {"amount": "5000.00", "currency": "USD"}})
    assert usd.status_code == 422 and usd.json()["code"] == "currency_mismatch"
    inexact = api.post(MS, who="partner", json={**MEZZANINE, "line_limit": eur("5000.001")})
    assert inexact.status_code == 422 and inexact.json()["code"] == "invalid_amount"
    backwards = api.post(MS, who="partner", json={**MEZZANINE, "starts_on": "2026-07-01", "ends_on": "2026-06-30"})
    assert backwards.status_code == 422 and backwards.json()["code"] == "validation_error"
    no_trigger = api.post(MS, who="partner", json={**OEM, "trigger": None})
    assert no_trigger.status_code == 422
    assert api.get(MS, who="partner").json() == []  # nothing was created by the refusals
