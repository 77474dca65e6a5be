"""Credit decisions (SPEC §12), as the credit desk and the vendor live them, through HTTP only.

Each test is one story with the field's numbers; the ledger is read after each step."""

from __future__ import annotations

from datetime import timedelta

from creditlines import clock
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
MS = "/v1/vendors/microsoft/programmes"
MEZZANINE = {
    "code": "mezzanine",
    "distributor_id": "actebis",
    "name": "Mezzanine",
    "kind": "standing",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
}


def _refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text
    return response.json()


def _second_officer(api) -> None:
    api.keys["second officer"] = api.key("credit_officer", distributor_id="actebis")


def _reseller(api, reseller_id: str, limit: str) -> None:
    """A reseller whose line was opened at ``limit`` 40 days ago (before the four-eyes window)."""
    today = clock.now()
    clock.set_now(today - timedelta(days=40))
    try:
        assert api.put(f"{D}/resellers/{reseller_id}", json={"name": f"Reseller {reseller_id}"}).status_code == 201
        opened = api.put(f"{D}/resellers/{reseller_id}/base-limit", json={"limit": eur(limit), "reason": "opening"})
        assert opened.status_code == 200
    finally:
        clock.set_now(today)


def _kinds(api, reseller_id: str) -> list[tuple[str, str]]:
    items = api.get(f"{D}/resellers/{reseller_id}/ledger", params={"limit": 1000}).json()["items"]
    return [(e["kind"], e["actor"].split(":")[0]) for e in items]


def test_a_raise_above_the_threshold_is_approved_for_less_by_a_second_officer(api):
    """Actebis asks for four eyes above EUR 5,000. An officer asks to raise R-1001 from 10,000 to
    25,000: nothing changes yet. A colleague approves 18,000; the line is 18,000, and the ledger
    says who asked, who decided, and why."""
    _second_officer(api)
    _reseller(api, "R-1001", "10000.00")
    policy = api.request("PATCH", D, json={"approval_threshold": eur("5000.00")})
    assert policy.status_code == 200 and policy.json()["approval_threshold"] == eur("5000.00")

    within = api.put(f"{D}/resellers/R-1001/base-limit", json={"limit": eur("15000.00"), "reason": "seasonal"})
    assert within.status_code == 200 and within.json()["total_limit"] == eur("15000.00")  # +5,000: at once
    asked = api.put(f"{D}/resellers/R-1001/base-limit", json={"limit": eur("25000.00"), "reason": "new store"})
    assert asked.status_code == 202, asked.text
    request = asked.json()
    assert (request["status"], request["current"], request["requested"]) == (
        "pending",
        eur("15000.00"),
        eur("25000.00"),
    )
    assert request["expires_at"].startswith("2026-03-16")
    assert api.get(f"{D}/resellers/R-1001").json()["total_limit"] == eur("15000.00")  # nothing changed yet
    retried = api.put(f"{D}/resellers/R-1001/base-limit", json={"limit": eur("25000.00"), "reason": "new store"})
    assert retried.status_code == 202 and retried.json()["id"] == request["id"]  # a retry opens no second request
    pending = api.get(f"{D}/limit-requests", params={"status": "pending"}).json()["items"]
    assert [r["id"] for r in pending] == [request["id"]]

    decision = f"{D}/limit-requests/{request['id']}/decision"
    _refused(api.post(decision, json={"decision": "approve", "reason": "mine"}), 403, "same_approver")
    _refused(
        api.post(
            decision, who="second officer", json={"decision": "approve", "limit": eur("30000.00"), "reason": "more"}
        ),
        422,
        "validation_error",
    )
    approved = api.post(
        decision,
        who="second officer",
        json={"decision": "approve", "limit": eur("18000.00"), "reason": "cover allows 18k"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_limit"] == eur("18000.00")
    assert api.get(f"{D}/resellers/R-1001").json()["total_limit"] == eur("18000.00")
    _refused(
        api.post(decision, who="second officer", json={"decision": "reject", "reason": "again"}), 409, "already_decided"
    )
    assert api.get(f"{D}/limit-requests", params={"status": "pending"}).json()["items"] == []

    assert _kinds(api, "R-1001")[-4:] == [
        ("limit_set", "credit_officer"),
        ("limit_requested", "credit_officer"),
        ("limit_request_approved", "credit_officer"),
        ("limit_set", "credit_officer"),
    ]
    entries = api.get(f"{D}/resellers/R-1001/ledger").json()["items"]
    assert entries[-1]["limit_after"] == eur("18000.00") and entries[-1]["reason"] == "cover allows 18k"
    assert entries[-2]["actor"] != entries[-3]["actor"]  # four eyes, in the ledger

    # The ERP following the desk's feed learns each step in order (SPEC §13).
    feed = [
        e["type"] for e in api.get(f"{D}/events", params={"limit": 500}).json()["items"] if e["reseller_id"] == "R-1001"
    ]
    assert [t for t in feed if t.startswith("limit")][-4:] == [
        "limit.changed",
        "limit_request.created",
        "limit_request.approved",
        "limit.changed",
    ]


def test_a_rejected_request_and_one_left_to_expire(api):
    """A rejection changes nothing; a request nobody decides expires after 14 days: decided too
    late it answers request_expired, and the nightly job records the expiry once."""
    _second_officer(api)
    _reseller(api, "R-1", "1000.00")
    api.request("PATCH", D, json={"approval_threshold": eur("0.00")})
    first = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("2000.00"), "reason": "ask 1"}).json()
    second = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("3000.00"), "reason": "ask 2"}).json()
    rejected = api.post(
        f"{D}/limit-requests/{first['id']}/decision",
        who="second officer",
        json={"decision": "reject", "reason": "late payments"},
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert api.get(f"{D}/resellers/R-1").json()["total_limit"] == eur("1000.00")

    clock.set_now("2026-03-16T09:00:01+00:00")  # 14 days and a second later
    _refused(
        api.post(
            f"{D}/limit-requests/{second['id']}/decision",
            who="second officer",
            json={"decision": "approve", "reason": "too late"},
        ),
        409,
        "request_expired",
    )
    assert [r["id"] for r in api.get(f"{D}/limit-requests", params={"status": "expired"}).json()["items"]] == [
        second["id"]
    ]
    clock.set_now("2026-03-17T09:00:00+00:00")
    for _night in range(2):  # a replayed night changes nothing more
        assert api.post("/v1/jobs/expiry", who="admin", json={}).status_code == 200
    assert [k for k, _ in _kinds(api, "R-1")].count("limit_request_expired") == 1
    expired = api.get(f"{D}/limit-requests/{second['id']}").json()
    assert expired["status"] == "expired" and expired["decided_by"] == "job:expiry"
    assert api.get(f"{D}/resellers/R-1").json()["total_limit"] == eur("1000.00")


def test_a_nomination_refused_shows_the_vendor_only_a_code(api):
    """Actebis decides Microsoft's Mezzanine enrolments. Microsoft nominates R-1 and R-2; the
    officer refuses R-1 (credit risk, with a private note) and approves R-2 for 3,000 instead of
    5,000. Microsoft sees the statuses and the code, never the note."""
    _reseller(api, "R-1", "1000.00")
    _reseller(api, "R-2", "1000.00")
    api.put(f"{D}/vendors/microsoft", json={"requires_approval": True})
    assert api.post(MS, who="partner", json=MEZZANINE).status_code == 201
    enrolled = api.post(
        f"{MS}/mezzanine@actebis/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "R-1"}, {"reseller_id": "R-2"}]},
    ).json()["results"]
    assert [r["outcome"] for r in enrolled] == ["pending_approval", "pending_approval"]
    ids = {r["reseller_id"]: r["nomination_id"] for r in enrolled}
    again = api.post(f"{MS}/mezzanine@actebis/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-1"}]})
    assert again.json()["results"][0]["nomination_id"] == ids["R-1"]  # the same nomination, not a second one
    assert len(api.get(f"{D}/resellers/R-1/availability").json()["lines"]) == 1  # no line yet

    pending = api.get(f"{D}/nominations", params={"status": "pending"}).json()["items"]
    assert sorted(n["reseller_id"] for n in pending) == ["R-1", "R-2"]
    refused = api.post(
        f"{D}/nominations/{ids['R-1']}/decision",
        json={"decision": "reject", "reason": "unpaid invoices since January", "refusal_code": "credit_risk"},
    )
    assert refused.status_code == 200 and refused.json()["status"] == "rejected"
    approved = api.post(
        f"{D}/nominations/{ids['R-2']}/decision",
        json={"decision": "approve", "limit": eur("3000.00"), "reason": "ok for 3k"},
    )
    assert approved.status_code == 200, approved.text
    lines = api.get(f"{D}/resellers/R-2/availability").json()["lines"]
    assert [(ln["funder"], ln["limit"]) for ln in lines] == [("actebis", eur("1000.00")), ("microsoft", eur("3000.00"))]
    _refused(
        api.post(f"{D}/nominations/{ids['R-2']}/decision", json={"decision": "reject", "reason": "x"}),
        409,
        "already_decided",
    )

    seen = api.get(f"{MS}/mezzanine@actebis/nominations", who="partner")
    assert seen.status_code == 200
    by_reseller = {n["reseller_id"]: n for n in seen.json()["items"]}
    assert (by_reseller["R-1"]["status"], by_reseller["R-1"]["refusal_code"]) == ("rejected", "credit_risk")
    assert (by_reseller["R-2"]["status"], by_reseller["R-2"]["granted_limit"]) == ("approved", eur("3000.00"))
    assert "unpaid" not in seen.text and "ok for 3k" not in seen.text
    assert _kinds(api, "R-1")[-2:] == [
        ("nomination_created", "partner_manager"),
        ("nomination_rejected", "credit_officer"),
    ]

    # Microsoft's feed tells it each decision with the code, never the officer's note (SPEC §13).
    vendor_feed = api.get("/v1/vendors/microsoft/events", who="partner", params={"limit": 500})
    assert vendor_feed.status_code == 200, vendor_feed.text
    nominations = [
        (e["type"], e["reseller_id"], e["data"].get("refusal_code"))
        for e in vendor_feed.json()["items"]
        if e["type"].startswith("nomination")
    ]
    assert sorted(nominations) == [
        ("nomination.approved", "R-2", None),
        ("nomination.created", "R-1", None),
        ("nomination.created", "R-2", None),
        ("nomination.rejected", "R-1", "credit_risk"),
    ]
    assert "unpaid" not in vendor_feed.text and "ok for 3k" not in vendor_feed.text


def test_approving_a_nomination_rechecks_every_grant_rule_at_that_moment(api):
    """Microsoft nominates R-1 with a budget of one beneficiary; meanwhile R-2 takes the slot
    after the partnership stops requiring approval, then the programme closes: approval answers
    the rule that fails now, and the nomination stays pending."""
    _reseller(api, "R-1", "1000.00")
    _reseller(api, "R-2", "1000.00")
    api.put(f"{D}/vendors/microsoft", json={"requires_approval": True})
    api.post(MS, who="partner", json={**MEZZANINE, "budget": {"max_beneficiaries": 1}})
    nomination = api.post(
        f"{MS}/mezzanine@actebis/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-1"}]}
    ).json()["results"][0]["nomination_id"]
    api.put(f"{D}/vendors/microsoft", json={"requires_approval": False})
    granted = api.post(
        f"{MS}/mezzanine@actebis/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-2"}]}
    )
    assert granted.json()["results"][0]["outcome"] == "granted"
    decision = f"{D}/nominations/{nomination}/decision"
    _refused(api.post(decision, json={"decision": "approve", "reason": "go"}), 409, "budget_exhausted")
    api.request("PATCH", f"{MS}/mezzanine@actebis", who="partner", json={"status": "closed"})
    _refused(api.post(decision, json={"decision": "approve", "reason": "go"}), 409, "programme_closed")
    api.delete(f"{D}/vendors/microsoft")
    _refused(api.post(decision, json={"decision": "approve", "reason": "go"}), 409, "partnership_ended")
    assert api.get(f"{D}/nominations", params={"status": "pending"}).json()["items"][0]["id"] == nomination
    assert len(api.get(f"{D}/resellers/R-1/availability").json()["lines"]) == 1


def test_a_cover_cut_leaves_a_reseller_over_limit_and_mezzanine_helps(api):
    """Actebis caps base limits at insurer cover + EUR 2,000. Coface covers R-7 for 20,000, so its
    22,000 line stands; R-7 draws 15,000. Coface cuts the cover to 8,000: the line falls to 10,000
    (insurer_cut), R-7 is 5,000 over limit and in the listings. Microsoft asks whom to help, and
    its Mezzanine line of 5,000 stands beside the cut line."""
    _reseller(api, "R-7", "0.00")
    api.request(
        "PATCH", D, who="admin", json={"base_cap_policy": "cover_plus_discretionary", "discretionary": eur("2000.00")}
    )
    _refused(
        api.put(f"{D}/resellers/R-7/base-limit", json={"limit": eur("2000.01"), "reason": "no cover yet"}),
        422,
        "above_insured_cap",
    )
    covered = api.put(
        f"{D}/resellers/R-7/insurance",
        json={"insurer": "Coface", "cover": eur("20000.00"), "decided_on": "2026-02-01", "reference": "CF-1"},
    )
    assert covered.status_code == 200 and covered.json()["limit_cut"] is False
    assert api.get(f"{D}/resellers/R-7").json()["total_limit"] == eur("0.00")  # a cover never raises a limit
    _refused(
        api.put(f"{D}/resellers/R-7/base-limit", json={"limit": eur("22000.01"), "reason": "x"}),
        422,
        "above_insured_cap",
    )
    assert (
        api.put(f"{D}/resellers/R-7/base-limit", json={"limit": eur("22000.00"), "reason": "cover + 2k"}).status_code
        == 200
    )
    assert (
        api.post(
            f"{D}/resellers/R-7/drawings", who="integration", json={"reference": "SO-1", "amount": eur("15000.00")}
        ).status_code
        == 201
    )

    cut = api.put(
        f"{D}/resellers/R-7/insurance",
        json={"insurer": "Coface", "cover": eur("8000.00"), "decided_on": "2026-03-01", "reference": "CF-2"},
    )
    assert cut.status_code == 200, cut.text
    assert (cut.json()["base_limit_before"], cut.json()["base_limit_after"], cut.json()["limit_cut"]) == (
        eur("22000.00"),
        eur("10000.00"),
        True,
    )
    replay = api.put(
        f"{D}/resellers/R-7/insurance",
        json={"insurer": "Coface", "cover": eur("8000.00"), "decided_on": "2026-03-01", "reference": "CF-2"},
    )
    assert replay.json()["changed"] is False
    reseller = api.get(f"{D}/resellers/R-7").json()
    assert reseller["over_limit"] is True and reseller["total_available"] == eur("0.00")
    over = api.get(f"{D}/reports/over-limit").json()["items"]
    assert [(r["reseller_id"], r["over_limit_by"]) for r in over] == [("R-7", eur("5000.00"))]
    entries = api.get(f"{D}/resellers/R-7/ledger").json()["items"]
    assert [(e["kind"], e["reason"]) for e in entries[-2:]] == [
        ("insurance_set", "Coface: cover decided"),
        ("limit_set", "insurer_cut"),
    ]
    history = api.get(f"{D}/resellers/R-7/insurance").json()
    assert [(h["cover"], h["previous_cover"]) for h in history] == [
        (eur("20000.00"), None),
        (eur("8000.00"), eur("20000.00")),
    ]

    cuts = api.get(f"{D}/reports/cover-cuts", params={"since": "2026-02-15"}).json()["items"]
    assert [
        (c["reseller_id"], c["cover_before"], c["cover_after"], c["base_limit"], c["total_drawn"], c["over_limit"])
        for c in cuts
    ] == [("R-7", eur("20000.00"), eur("8000.00"), eur("10000.00"), eur("15000.00"), True)]
    csv_text = api.get(f"{D}/reports/cover-cuts", params={"since": "2026-02-15"}, headers={"Accept": "text/csv"}).text
    assert csv_text.splitlines()[1].startswith(
        "R-7,Reseller R-7,active,Coface,2026-03-01,20000.00,8000.00,10000.00,15000.00"
    )

    assert api.post(MS, who="partner", json=MEZZANINE).status_code == 201
    helped = api.post(f"{MS}/mezzanine@actebis/enrolments", who="partner", json={"resellers": [{"reseller_id": "R-7"}]})
    assert helped.json()["results"][0]["outcome"] == "granted"
    # The overdrawn base eats into the supplementary headroom first (SPEC §4): 15,000 drawn on 15,000 of lines.
    now = api.get(f"{D}/resellers/R-7").json()
    assert (now["total_limit"], now["over_limit"], now["total_available"]) == (eur("15000.00"), False, eur("0.00"))
    cuts = api.get(f"{D}/reports/cover-cuts", params={"since": "2026-02-15"}).json()["items"]
    assert cuts[0]["vendor_funders"] == ["microsoft"] and cuts[0]["vendor_lines_limit"] == eur("5000.00")
    api.put(
        f"{D}/resellers/R-7/insurance", json={"insurer": "Coface", "cover": eur("30000.00"), "decided_on": "2026-03-02"}
    )
    assert api.get(f"{D}/resellers/R-7").json()["total_limit"] == eur("15000.00")  # a raise of cover raises nothing


def test_the_cover_cuts_csv_neutralises_what_a_spreadsheet_would_run(api):
    """Insurer names and reseller names come from outside: a cell starting with = + - @ is text."""
    assert api.put(f"{D}/resellers/R-9", json={"name": "@SUM(1+1)"}).status_code == 201
    for cover, day in (("5000.00", "2026-02-01"), ("1000.00", "2026-02-20")):
        assert (
            api.put(
                f"{D}/resellers/R-9/insurance",
                json={"insurer": '=HYPERLINK("x")', "cover": eur(cover), "decided_on": day},
            ).status_code
            == 200
        )
    csv_text = api.get(f"{D}/reports/cover-cuts", params={"since": "2026-02-01"}, headers={"Accept": "text/csv"}).text
    header, row = csv_text.splitlines()
    assert header.startswith("reseller_id,reseller_name,status,insurer,cut_on,cover_before,cover_after")
    assert row.startswith('R-9,\'@SUM(1+1),active,"\'=HYPERLINK(""x"")",2026-02-20,5000.00,1000.00,0.00,0.00')
    _refused(api.get(f"{D}/reports/cover-cuts", params={"since": "2026-03-03"}), 422, "validation_error")  # the future
    _refused(api.get(f"{D}/reports/cover-cuts", params={"since": "March"}), 422, "validation_error")
