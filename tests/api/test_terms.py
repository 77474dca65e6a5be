"""Payment terms, due dates, the overdue stop and the ageing report (SPEC §18), as worked examples
through the API, on both databases. Actebis is in Paris; every instant below is 09:00 UTC, so the
local date is the UTC date."""

from __future__ import annotations

import json

from sqlalchemy import text

from creditlines import clock
from creditlines.ledger import grant_programme_line
from tests.api.conftest import eur
from tests.factories import eur as money

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1"


def at(day: str) -> None:
    clock.set_now(f"{day}T09:00:00+00:00")


def open_reseller(api, limit: str = "10000.00", reseller: str = "R-1", **body) -> None:
    assert api.put(f"{D}/resellers/{reseller}", json={"name": reseller, **body}).status_code in (200, 201)
    r = api.put(f"{D}/resellers/{reseller}/base-limit", json={"limit": eur(limit), "reason": "opening"})
    assert r.status_code == 200, r.text


def draw(api, reference: str, amount: str, **extra):
    return api.post(R + "/drawings", json={"reference": reference, "amount": eur(amount), **extra}, who="integration")


def pay(api, reference: str, amount: str, payment: str):
    return api.post(
        f"{R}/drawings/{reference}/releases",
        json={"reference": payment, "amount": eur(amount), "kind": "payment"},
        who="integration",
    )


def events(api, type_: str) -> list[dict]:
    with api.uow.read() as s:
        rows = s.execute(text("SELECT data FROM event WHERE type = :t ORDER BY id"), {"t": type_}).scalars().all()
    return [json.loads(row) for row in rows]


# ------------------------------------------------------------------------------- terms


def test_a_drawing_is_due_after_the_distributors_30_days(api):
    at("2026-03-02")
    open_reseller(api)
    r = draw(api, "PO-1", "1000.00")
    assert r.status_code == 201, r.text
    assert (r.json()["invoice_date"], r.json()["due_on"]) == ("2026-03-02", "2026-04-01")  # 2 March + 30 days
    assert api.get(R + "/drawings/PO-1").json()["due_on"] == "2026-04-01"
    assert events(api, "drawing.created")[-1]["due_on"] == "2026-04-01"


def test_the_erp_gives_the_dates_and_a_reseller_has_its_own_terms(api):
    at("2026-03-02")
    open_reseller(api, payment_terms_days=45)
    given = draw(api, "PO-2", "500.00", invoice_date="2026-02-20", due_on="2026-05-31")
    assert (given.json()["invoice_date"], given.json()["due_on"]) == ("2026-02-20", "2026-05-31")
    own = draw(api, "PO-3", "500.00", invoice_date="2026-02-20")  # 20 February + the reseller's 45 days
    assert own.json()["due_on"] == "2026-04-06"
    # the same body again is the same drawing; another due date for the same reference is a conflict
    assert draw(api, "PO-2", "500.00", invoice_date="2026-02-20", due_on="2026-05-31").status_code == 200
    assert draw(api, "PO-2", "500.00", due_on="2026-06-30").json()["code"] == "idempotency_conflict"
    bad = draw(api, "PO-4", "100.00", invoice_date="2026-03-10", due_on="2026-03-09")
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    # back to the distributor's terms, which Actebis sets to 60 days
    assert api.put(R, json={"name": "R-1", "payment_terms_days": None}).json()["payment_terms_days"] is None
    assert api.request("PATCH", D, json={"payment_terms_days": 60}).json()["payment_terms_days"] == 60
    assert draw(api, "PO-5", "100.00").json()["due_on"] == "2026-05-01"  # 2 March + 60 days
    assert api.request("PATCH", D, json={"payment_terms_days": 366}).status_code == 422


# ------------------------------------------------------------------------------- overdue and the stop


def test_the_stop_starts_at_day_61_and_a_payment_clears_it(api):
    at("2026-01-02")
    open_reseller(api)
    r = api.request("PATCH", D, json={"overdue_stop": {"after_days": 60, "min_amount": eur("500.00")}})
    assert r.json()["overdue_stop"] == {"after_days": 60, "min_amount": eur("500.00")}
    assert draw(api, "INV-1", "1000.00").json()["due_on"] == "2026-02-01"

    at("2026-04-02")  # 60 days after 1 February: overdue, but not beyond 60 days
    reseller = api.get(R).json()
    assert (reseller["overdue"], reseller["oldest_overdue_days"]) == (eur("1000.00"), 60)
    assert draw(api, "INV-2", "100.00").status_code == 201

    at("2026-04-03")  # day 61: 1,000.00 more than 60 days overdue, at least the 500.00 of the policy
    check = api.post(R + "/eligibility", json={"amount": eur("100.00")}).json()
    assert not check["eligible"] and [x["code"] for x in check["reasons"]] == ["overdue_stop"]
    assert check["overdue_stop"] == {"overdue": eur("1000.00"), "after_days": 60, "min_amount": eur("500.00")}
    refused = draw(api, "INV-3", "100.00")
    assert (refused.status_code, refused.json()["code"]) == (409, "overdue_stop")
    assert refused.json()["overdue"] == eur("1000.00")
    assert draw(api, "INV-3", "100.00").status_code == 409  # the stop is announced once
    assert [e["overdue_minor"] for e in events(api, "reseller.overdue_stop")] == [100000]
    assert api.get(R).json()["overdue_stop"] is True
    availability = api.get(R + "/availability").json()
    assert (availability["overdue"], availability["oldest_overdue_days"]) == (eur("1000.00"), 61)  # INV-2 not due

    # 600.00 paid: 400.00 still more than 60 days overdue, under the 500.00 of the policy
    assert pay(api, "INV-1", "600.00", "PAY-1").status_code == 201
    assert len(events(api, "reseller.overdue_cleared")) == 1
    assert api.get(R).json()["overdue_stop"] is False
    assert draw(api, "INV-3", "100.00").status_code == 201


def test_the_stop_holds_without_any_job_and_loosening_it_lifts_it(api):
    at("2026-01-02")
    open_reseller(api)
    draw(api, "INV-1", "800.00")
    api.request("PATCH", D, json={"overdue_stop": {"after_days": 10, "min_amount": eur("0.00")}})
    at("2026-02-12")  # 11 days after 1 February
    assert draw(api, "INV-2", "1.00").json()["code"] == "overdue_stop"
    # Removing the stop loosens it (SPEC §23): the officer's PATCH is a pending policy request,
    # the stop holds until another officer approves it; then the drawing passes.
    asked = api.request("PATCH", D, json={"overdue_stop": None})
    assert asked.status_code == 202, asked.text
    assert (asked.json()["changes"], asked.json()["previous"]) == (
        {"overdue_stop": None},
        {"overdue_stop": {"after_days": 10, "min_amount": eur("0.00")}},
    )
    assert draw(api, "INV-2", "1.00").json()["code"] == "overdue_stop"
    api.keys["second officer"] = api.key("credit_officer", distributor_id="actebis")
    approved = api.post(
        f"{D}/policy-requests/{asked.json()['id']}/decision",
        who="second officer",
        json={"decision": "approve", "reason": "R-1 pays in March"},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    assert api.get(D + "/credit-policy").json()["overdue_stop"] is None
    assert draw(api, "INV-2", "1.00").status_code == 201


# ------------------------------------------------------------------------------- the ageing report

# Seven drawings posted on 1 March 2026, due on the dates given; as of 30 June 2026:
#   A  100.00  due 15 Jul   not due            E  500.00  due 30 May  31 days   31_60
#   B  200.00  due 30 Jun   0 days: not due    F  600.00  due 1 Apr   90 days   61_90
#   C  300.00  due 29 Jun   1 day   1_30       G  700.00  due 31 Mar  91 days   over_90
#   D  400.00  due 31 May   30 days 1_30
# Base limit 2,000.00 then a Microsoft line of 1,000.00: A–E (1,500.00) and 500.00 of F on the
# base line, F's other 100.00 and G on Microsoft's.
DUE = [("A", "100.00", "2026-07-15"), ("B", "200.00", "2026-06-30"), ("C", "300.00", "2026-06-29")]
DUE += [("D", "400.00", "2026-05-31"), ("E", "500.00", "2026-05-30"), ("F", "600.00", "2026-04-01")]
DUE += [("G", "700.00", "2026-03-31")]


def _book(api) -> None:
    at("2026-03-01")
    open_reseller(api, "2000.00")
    with api.uow.write() as s:
        grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            vendor_id="microsoft",
            programme_id=None,
            limit=money("1000.00"),
            valid_until=clock.local_today("Europe/Paris").replace(month=12, day=31),
            actor="test",
        )
    for ref, amount, due_on in DUE:
        assert draw(api, ref, amount, due_on=due_on).status_code == 201


def _amounts(row: dict) -> list[str]:
    return [row[b]["amount"] for b in ("not_due", "1_30", "31_60", "61_90", "over_90")] + [row["outstanding"]["amount"]]


def test_the_buckets_on_a_chosen_date_per_reseller_and_per_funder(api):
    _book(api)
    report = api.get(D + "/reports/ageing", params={"as_of": "2026-06-30"}).json()
    assert report["source"] == "live"  # a later date than today: today's balances, aged to it
    assert [r["reseller_id"] for r in report["resellers"]] == ["R-1"]
    assert _amounts(report["resellers"][0]) == ["300.00", "700.00", "500.00", "600.00", "700.00", "2800.00"]
    funders = {f["funder"]: _amounts(f) for f in report["funders"]}
    assert funders == {
        "actebis": ["300.00", "700.00", "500.00", "500.00", "0.00", "2000.00"],
        "microsoft": ["0.00", "0.00", "0.00", "100.00", "700.00", "800.00"],
    }
    assert _amounts(report["totals"]) == ["300.00", "700.00", "500.00", "600.00", "700.00", "2800.00"]
    csv = api.get(D + "/reports/ageing", params={"as_of": "2026-06-30"}, headers={"Accept": "text/csv"}).text
    assert csv.splitlines()[0] == "scope,id,name,not_due,1_30,31_60,61_90,over_90,outstanding"
    assert "total,total,,300.00,700.00,500.00,600.00,700.00,2800.00" in csv.splitlines()

    # Microsoft's partner manager sees the money on its own line only, never the base line's
    mine = api.get(
        "/v1/vendors/microsoft/reports/ageing",
        who="partner",
        params={"distributor_id": "actebis", "as_of": "2026-06-30"},
    )
    assert [f["funder"] for f in mine.json()["funders"]] == ["microsoft"]
    assert _amounts(mine.json()["totals"]) == ["0.00", "0.00", "0.00", "100.00", "700.00", "800.00"]
    other = api.get("/v1/vendors/hp/reports/ageing", who="partner", params={"distributor_id": "actebis"})
    assert other.status_code == 403


def test_the_same_report_as_of_a_past_date_reads_the_ledger_as_it_stood(api):
    _book(api)
    live = api.get(D + "/reports/ageing", params={"as_of": "2026-06-30"}).json()
    at("2026-07-01")  # G paid in full and 100.00 of A the morning after
    assert pay(api, "G", "700.00", "PAY-G").status_code == 201
    assert pay(api, "A", "100.00", "PAY-A").status_code == 201
    past = api.get(D + "/reports/ageing", params={"as_of": "2026-06-30"}).json()
    assert past["source"] == "ledger"
    assert (past["resellers"], past["funders"], past["totals"]) == (live["resellers"], live["funders"], live["totals"])
    today = api.get(D + "/reports/ageing").json()
    # 1 July, A and G paid: B 1 day and C 2 days overdue, D 31 and E 32 days, F 91 days
    assert _amounts(today["totals"]) == ["0.00", "500.00", "900.00", "0.00", "600.00", "2000.00"]
    before = api.get(D + "/reports/ageing", params={"as_of": "2026-02-28"}).json()
    assert before["resellers"] == [] and _amounts(before["totals"])[-1] == "0.00"
