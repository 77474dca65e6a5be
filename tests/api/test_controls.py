"""Four eyes that hold against the officer they control (SPEC §23), through HTTP only.

Each story is one an adversarial officer tried on the second version (issue 20): removing the
threshold, raising in steps under it, recording a large cover, approving a stale request."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from creditlines import clock
from tests.api.conftest import eur

D = "/v1/distributors/actebis"


def _refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text
    return response.json()


def _desk(api, limits: dict[str, str], threshold: str | None = "5000.00") -> None:
    """Two officers; resellers whose lines were opened 40 days ago; the threshold set by the admin."""
    api.keys["second officer"] = api.key("credit_officer", distributor_id="actebis")
    today = clock.now()
    clock.set_now(today - timedelta(days=40))
    try:
        for reseller_id, limit in limits.items():
            assert api.put(f"{D}/resellers/{reseller_id}", json={"name": reseller_id}).status_code == 201
            opened = api.put(f"{D}/resellers/{reseller_id}/base-limit", json={"limit": eur(limit), "reason": "open"})
            assert opened.status_code == 200
    finally:
        clock.set_now(today)
    if threshold is not None:
        assert api.request("PATCH", D, who="admin", json={"approval_threshold": eur(threshold)}).status_code == 200


def _limit(api, reseller_id: str) -> dict:
    return api.get(f"{D}/resellers/{reseller_id}").json()["total_limit"]


def _decide(api, request_id: str, decision: str, who: str = "second officer"):
    return api.post(
        f"{D}/policy-requests/{request_id}/decision", who=who, json={"decision": decision, "reason": "checked"}
    )


def test_an_officer_cannot_remove_the_threshold_that_controls_him(api):
    """Threshold EUR 5,000. Officer A asks 10,000 → 50,000 (202), then removes the threshold:
    202, a policy request, the threshold stands, and the raise asked again is still pending.
    A cannot approve his own policy request; B rejects it; B's rejection is final."""
    _desk(api, {"R-1": "10000.00"})
    assert api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("50000.00"), "reason": "x"}).status_code == 202
    removed = api.request("PATCH", D, json={"approval_threshold": None})
    assert removed.status_code == 202, removed.text
    request = removed.json()
    assert (request["kind"], request["status"], request["changes"], request["previous"]) == (
        "credit_policy",
        "pending",
        {"approval_threshold": None},
        {"approval_threshold": eur("5000.00")},
    )
    assert api.get(f"{D}/credit-policy").json()["approval_threshold"] == eur("5000.00")
    again = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("50000.00"), "reason": "x"})
    assert again.status_code == 202 and _limit(api, "R-1") == eur("10000.00")
    raised = api.request("PATCH", D, json={"approval_threshold": eur("1000000.00")})
    assert raised.status_code == 202  # raising it is loosening too

    _refused(_decide(api, request["id"], "approve", who="officer"), 403, "same_approver")
    pending = api.get(f"{D}/policy-requests", params={"status": "pending"}).json()["items"]
    assert {r["id"] for r in pending} == {request["id"], raised.json()["id"]}  # asked at one instant
    rejected = _decide(api, request["id"], "reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    _refused(_decide(api, request["id"], "approve"), 409, "already_decided")
    assert api.get(f"{D}/credit-policy").json()["approval_threshold"] == eur("5000.00")


def test_a_second_officer_approves_a_loosening_and_tightening_applies_at_once(api):
    """Tightening needs nobody: a lower threshold and the cap policy switched on apply at once.
    Loosening (discretionary raised, cap policy back to none) waits; B approves it; a stale one
    (asked from a value changed since) is refused with policy_changed. The admin applies at once."""
    _desk(api, {"R-1": "10000.00"})
    tighter = api.request(
        "PATCH",
        D,
        json={"approval_threshold": eur("2000.00"), "base_cap_policy": "cover_plus_discretionary"},
    )
    assert tighter.status_code == 200 and tighter.json()["approval_threshold"] == eur("2000.00")
    assert tighter.json()["base_cap_policy"] == "cover_plus_discretionary"

    mixed = api.request("PATCH", D, json={"approval_threshold": eur("1000.00"), "discretionary": eur("50000.00")})
    assert mixed.status_code == 202 and mixed.json()["changes"] == {"discretionary": eur("50000.00")}
    policy = api.get(f"{D}/credit-policy").json()
    assert policy["approval_threshold"] == eur("1000.00") and policy["discretionary"] == eur("0.00")

    to_none = api.request("PATCH", D, json={"base_cap_policy": "none"}).json()
    approved = _decide(api, mixed.json()["id"], "approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert api.get(f"{D}/credit-policy").json()["discretionary"] == eur("50000.00")

    assert api.request("PATCH", D, who="admin", json={"base_cap_policy": "cover_plus_discretionary"}).status_code == 200
    lowered = api.request("PATCH", D, json={"discretionary": eur("10.00")})
    assert lowered.status_code == 200  # tightening: at once
    stale = api.request("PATCH", D, json={"discretionary": eur("20000.00")}).json()
    assert api.request("PATCH", D, json={"discretionary": eur("0.00")}).status_code == 200
    _refused(_decide(api, stale["id"], "approve"), 409, "policy_changed")
    assert to_none["status"] == "pending"
    assert _decide(api, to_none["id"], "approve").status_code == 200
    assert api.get(f"{D}/credit-policy").json()["base_cap_policy"] == "none"

    by_admin = api.request("PATCH", D, who="admin", json={"approval_threshold": None})
    assert by_admin.status_code == 200 and by_admin.json()["approval_threshold"] is None

    clock.set_now(clock.now() + timedelta(days=15))
    late = api.request("PATCH", D, json={"approval_threshold": eur("3000.00")})
    assert late.status_code == 200  # setting a threshold where none was is tightening
    old = api.request("PATCH", D, json={"approval_threshold": None}).json()
    clock.set_now(clock.now() + timedelta(days=14, seconds=1))
    _refused(_decide(api, old["id"], "approve"), 409, "request_expired")


def test_raises_under_the_threshold_add_up_over_thirty_days(api):
    """Eight raises of 5,000 from 10,000 reached 50,000 with nobody else. Now the first is at
    once; the second is measured from the lowest limit of the last 30 days (10,000) and waits."""
    _desk(api, {"R-1": "10000.00"})
    first = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("15000.00"), "reason": "step 1"})
    assert first.status_code == 200
    second = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("20000.00"), "reason": "step 2"})
    assert second.status_code == 202, second.text
    assert (second.json()["current"], second.json()["live_limit"]) == (eur("15000.00"), eur("15000.00"))
    assert _limit(api, "R-1") == eur("15000.00")

    clock.set_now(clock.now() + timedelta(days=31))  # the window moved past the 10,000
    later = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("20000.00"), "reason": "step 2 again"})
    assert later.status_code == 200 and _limit(api, "R-1") == eur("20000.00")

    # A cut cannot be undone alone either: 20,000 → 0 → 20,000 within 30 days waits.
    assert api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("0.00"), "reason": "fraud?"}).status_code == 200
    back = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("20000.00"), "reason": "cleared"})
    assert back.status_code == 202


def test_a_large_cover_cannot_lift_the_cap_without_a_second_officer(api):
    """Under cover + 2,000, R-7 (no cover) may not go above 2,000. Officer A records a cover of
    1,000,000 itself: 202, nothing recorded, the cap stands. B approves: the cover is recorded
    and the raise within the cap is possible. A small cover raise applies at once."""
    _desk(api, {"R-7": "0.00"})
    api.request(
        "PATCH", D, who="admin", json={"base_cap_policy": "cover_plus_discretionary", "discretionary": eur("2000.00")}
    )
    small = api.put(
        f"{D}/resellers/R-7/insurance", json={"insurer": "Coface", "cover": eur("4000.00"), "decided_on": "2026-03-01"}
    )
    assert small.status_code == 200 and small.json()["cover"] == eur("4000.00")
    big = api.put(
        f"{D}/resellers/R-7/insurance",
        json={"insurer": "Coface", "cover": eur("1000000.00"), "decided_on": "2026-03-01", "reference": "CF-9"},
    )
    assert big.status_code == 202, big.text
    assert (big.json()["kind"], big.json()["reseller_id"], big.json()["changes"]["cover"]) == (
        "insurance_cover",
        "R-7",
        eur("1000000.00"),
    )
    assert big.json()["previous"] == {"cover": eur("4000.00")}
    assert [c["cover"] for c in api.get(f"{D}/resellers/R-7/insurance").json()] == [eur("4000.00")]
    _refused(
        api.put(f"{D}/resellers/R-7/base-limit", json={"limit": eur("6000.01"), "reason": "x"}),
        422,
        "above_insured_cap",
    )
    _refused(_decide(api, big.json()["id"], "approve", who="officer"), 403, "same_approver")
    assert _decide(api, big.json()["id"], "approve").status_code == 200
    covers = api.get(f"{D}/resellers/R-7/insurance").json()
    assert covers[-1]["cover"] == eur("1000000.00") and covers[-1]["recorded_by"].startswith("credit_officer:")
    assert api.put(f"{D}/resellers/R-7/base-limit", json={"limit": eur("5000.00"), "reason": "x"}).status_code == 200


def test_a_stale_approval_cannot_undo_a_cut(api):
    """A raise 9,000 → 40,000 is pending; officer B cuts the line to 0 (fraud suspicion): the
    request is superseded and shows the live limit beside `current`; approving it is refused
    (limit_changed) and the line stays at 0."""
    _desk(api, {"R-1": "9000.00"})
    asked = api.put(f"{D}/resellers/R-1/base-limit", json={"limit": eur("40000.00"), "reason": "big order"}).json()
    cut = api.put(
        f"{D}/resellers/R-1/base-limit", who="second officer", json={"limit": eur("0.00"), "reason": "fraud?"}
    )
    assert cut.status_code == 200
    shown = api.get(f"{D}/limit-requests/{asked['id']}").json()
    assert (shown["status"], shown["current"], shown["live_limit"]) == ("superseded", eur("9000.00"), eur("0.00"))
    _refused(
        api.post(
            f"{D}/limit-requests/{asked['id']}/decision",
            who="second officer",
            json={"decision": "approve", "reason": "was fine"},
        ),
        409,
        "limit_changed",
    )
    assert _limit(api, "R-1") == eur("0.00")
    assert api.get(f"{D}/limit-requests", params={"status": "superseded"}).json()["items"][0]["id"] == asked["id"]
    kinds = [e["kind"] for e in api.get(f"{D}/resellers/R-1/ledger", params={"limit": 100}).json()["items"]]
    assert kinds[-2:] == ["limit_request_superseded", "limit_set"]


MEZZ = {
    "code": "mezz",
    "distributor_id": "actebis",
    "name": "Mezzanine",
    "kind": "standing",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
}


def test_two_vendors_with_one_programme_code_never_see_each_others_nominations(api):
    """Microsoft and HP both own `mezz@actebis`, both enrolments decided by Actebis. HP nominates
    R-1; Microsoft's enrolment of R-1 is a nomination of Microsoft's own (not HP's id), and
    approving it grants Microsoft's line; HP's stays pending and HP sees only its own."""
    _desk(api, {"R-1": "1000.00"}, threshold=None)
    api.keys["hp"] = api.key("partner_manager", vendor_id="hp")
    for vendor in ("microsoft", "hp"):
        assert api.put(f"{D}/vendors/{vendor}", who="admin", json={"requires_approval": True}).status_code in (200, 201)
    assert api.post("/v1/vendors/microsoft/programmes", who="partner", json=MEZZ).status_code == 201
    assert api.post("/v1/vendors/hp/programmes", who="hp", json=MEZZ).status_code == 201

    def enrol(vendor: str, who: str) -> dict:
        answer = api.post(
            f"/v1/vendors/{vendor}/programmes/mezz@actebis/enrolments",
            who=who,
            json={"resellers": [{"reseller_id": "R-1"}]},
        )
        assert answer.status_code == 200, answer.text
        (result,) = answer.json()["results"]
        assert result["outcome"] == "pending_approval", result
        return result

    hp = enrol("hp", "hp")
    microsoft = enrol("microsoft", "partner")
    assert microsoft["nomination_id"] != hp["nomination_id"]
    assert enrol("microsoft", "partner")["nomination_id"] == microsoft["nomination_id"]  # a retry: the same one

    listed = api.get(f"{D}/nominations", params={"status": "pending"}).json()["items"]
    assert {(n["id"], n["vendor_id"]) for n in listed} == {
        (hp["nomination_id"], "hp"),
        (microsoft["nomination_id"], "microsoft"),
    }
    approved = api.post(
        f"{D}/nominations/{microsoft['nomination_id']}/decision", json={"decision": "approve", "reason": "ok"}
    )
    assert approved.status_code == 200, approved.text
    ms_lines = api.get("/v1/vendors/microsoft/programmes/mezz@actebis/lines", who="partner").json()["items"]
    hp_lines = api.get("/v1/vendors/hp/programmes/mezz@actebis/lines", who="hp").json()["items"]
    assert ([line["reseller_id"] for line in ms_lines], hp_lines) == (["R-1"], [])
    seen_by_hp = api.get("/v1/vendors/hp/programmes/mezz@actebis/nominations", who="hp").json()["items"]
    assert [(n["id"], n["status"]) for n in seen_by_hp] == [(hp["nomination_id"], "pending")]


def test_another_tenant_and_a_vendor_reach_no_policy_request(api):
    """A second distributor's officer, an ERP key and a vendor neither list nor decide Actebis'
    policy requests; a request id used under another distributor is unknown there."""
    _desk(api, {"R-1": "1000.00"})
    body = {"id": "etc", "name": "ETC", "currency": "EUR", "timezone": "Europe/Paris"}
    assert api.post("/v1/distributors", who="admin", json=body).status_code == 201
    api.keys["etc officer"] = api.key("credit_officer", distributor_id="etc")
    asked = api.request("PATCH", D, json={"approval_threshold": None}).json()
    decision = {"decision": "approve", "reason": "mine now"}
    for who in ("etc officer", "integration", "partner"):
        _refused(api.get(f"{D}/policy-requests", who=who), 403, "forbidden")
        _refused(api.post(f"{D}/policy-requests/{asked['id']}/decision", who=who, json=decision), 403, "forbidden")
    elsewhere = f"/v1/distributors/etc/policy-requests/{asked['id']}/decision"
    _refused(api.post(elsewhere, who="etc officer", json=decision), 404, "not_found")
    assert api.get(f"{D}/policy-requests/{asked['id']}").json()["status"] == "pending"


# ------------------------------------------------------------------------------- the overdue stop (SPEC §18)

R1 = f"{D}/resellers/R-1"
STOP_60 = {"after_days": 60, "min_amount": eur("500.00")}


def _overdue_desk(api) -> None:
    """R-1 (base limit 10,000, opened 40 days before 2 January 2026) draws INV-1 of 1,000.00 on
    2 January under 30-day terms: due 1 February. On 3 April 2026 it is 61 days overdue."""
    clock.set_now("2026-01-02T09:00:00+00:00")
    _desk(api, {"R-1": "10000.00"})
    assert _draw(api, "INV-1", "1000.00").status_code == 201
    clock.set_now("2026-04-03T09:00:00+00:00")


def _draw(api, reference: str, amount: str):
    return api.post(f"{R1}/drawings", who="integration", json={"reference": reference, "amount": eur(amount)})


def _stop(api) -> dict | None:
    return api.get(f"{D}/credit-policy").json()["overdue_stop"]


def test_an_officer_cannot_lift_the_overdue_stop_alone(api):
    """Stop {60 days, 500.00}, set by officer A at once (a stop where there was none tightens);
    60 → 30 days tightens too: 200 at once. On 3 April R-1 has 1,000.00 more than 30 (and 60) days
    overdue: its drawing of 100.00 is refused (409 overdue_stop). A removes the stop: 202, a
    policy request {"overdue_stop": null} from {30 days, 500.00}; asked again, the same request.
    The stop still refuses R-1; A cannot approve it (403 same_approver); B approves: the stop is
    gone and the drawing of 100.00 passes."""
    _overdue_desk(api)
    set_ = api.request("PATCH", D, json={"overdue_stop": STOP_60})
    assert set_.status_code == 200 and set_.json()["overdue_stop"] == STOP_60
    tighter = api.request("PATCH", D, json={"overdue_stop": {"after_days": 30, "min_amount": eur("500.00")}})
    assert tighter.status_code == 200, tighter.text
    assert tighter.json()["overdue_stop"] == {"after_days": 30, "min_amount": eur("500.00")}
    refused = _refused(_draw(api, "INV-2", "100.00"), 409, "overdue_stop")
    assert (refused["overdue"], refused["after_days"]) == (eur("1000.00"), 30)

    removed = api.request("PATCH", D, json={"overdue_stop": None})
    assert removed.status_code == 202, removed.text
    request = removed.json()
    assert (request["kind"], request["status"], request["changes"], request["previous"]) == (
        "credit_policy",
        "pending",
        {"overdue_stop": None},
        {"overdue_stop": {"after_days": 30, "min_amount": eur("500.00")}},
    )
    assert api.request("PATCH", D, json={"overdue_stop": None}).json()["id"] == request["id"]  # a retry
    assert _stop(api) == {"after_days": 30, "min_amount": eur("500.00")}
    _refused(_draw(api, "INV-2", "100.00"), 409, "overdue_stop")
    listed = api.get(f"{D}/policy-requests", params={"status": "pending"}).json()["items"]
    assert [(r["id"], r["changes"]) for r in listed] == [(request["id"], {"overdue_stop": None})]

    _refused(_decide(api, request["id"], "approve", who="officer"), 403, "same_approver")
    _refused(_draw(api, "INV-2", "100.00"), 409, "overdue_stop")
    approved = _decide(api, request["id"], "approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    assert _stop(api) is None
    assert _draw(api, "INV-2", "100.00").status_code == 201
    _refused(_decide(api, request["id"], "approve"), 409, "already_decided")


def test_a_stale_approval_cannot_loosen_a_stop_changed_since(api):
    """Stop {60 days, 500.00}. A asks {90 days, 1,000.00} (later and higher: 202). Meanwhile B
    tightens it to {60 days, 200.00} (200 at once). B's approval of A's request is refused
    (409 policy_changed): the stop stays {60 days, 200.00} and R-1, 1,000.00 overdue 61 days,
    still cannot draw."""
    _overdue_desk(api)
    assert api.request("PATCH", D, who="admin", json={"overdue_stop": STOP_60}).status_code == 200
    later = api.request("PATCH", D, json={"overdue_stop": {"after_days": 90, "min_amount": eur("1000.00")}})
    assert later.status_code == 202, later.text
    assert (later.json()["changes"], later.json()["previous"]) == (
        {"overdue_stop": {"after_days": 90, "min_amount": eur("1000.00")}},
        {"overdue_stop": STOP_60},
    )
    cut = api.request(
        "PATCH", D, who="second officer", json={"overdue_stop": {"after_days": 60, "min_amount": eur("200.00")}}
    )
    assert cut.status_code == 200 and cut.json()["overdue_stop"]["min_amount"] == eur("200.00")
    _refused(_decide(api, later.json()["id"], "approve"), 409, "policy_changed")
    assert _stop(api) == {"after_days": 60, "min_amount": eur("200.00")}
    _refused(_draw(api, "INV-2", "100.00"), 409, "overdue_stop")
    assert api.get(f"{D}/policy-requests/{later.json()['id']}").json()["status"] == "pending"  # rejectable


def test_one_patch_loosening_the_threshold_and_the_stop_is_one_request(api):
    """Threshold 5,000, stop {60 days, 500.00}. A's PATCH {"approval_threshold": null,
    "overdue_stop": {"after_days": 90, "min_amount": 500.00}} is one request carrying both; B
    approves it and both apply. A's PATCH lowering the threshold to 1,000 and removing the stop
    applies the threshold at once and puts only the stop in the request. The admin's removal of
    the stop applies at once (200), and R-1's drawing of 100.00 passes."""
    _overdue_desk(api)
    assert api.request("PATCH", D, who="admin", json={"overdue_stop": STOP_60}).status_code == 200
    later_stop = {"after_days": 90, "min_amount": eur("500.00")}
    both = api.request("PATCH", D, json={"approval_threshold": None, "overdue_stop": later_stop})
    assert both.status_code == 202, both.text
    assert (both.json()["changes"], both.json()["previous"]) == (
        {"approval_threshold": None, "overdue_stop": later_stop},
        {"approval_threshold": eur("5000.00"), "overdue_stop": STOP_60},
    )
    assert [r["id"] for r in api.get(f"{D}/policy-requests").json()["items"]] == [both.json()["id"]]
    assert _decide(api, both.json()["id"], "approve").status_code == 200
    policy = api.get(f"{D}/credit-policy").json()
    assert (policy["approval_threshold"], policy["overdue_stop"]) == (None, later_stop)
    assert _draw(api, "INV-2", "100.00").status_code == 201  # 61 days overdue: not beyond 90

    mixed = api.request("PATCH", D, json={"approval_threshold": eur("1000.00"), "overdue_stop": None})
    assert mixed.status_code == 202 and mixed.json()["changes"] == {"overdue_stop": None}
    policy = api.get(f"{D}/credit-policy").json()
    assert (policy["approval_threshold"], policy["overdue_stop"]) == (eur("1000.00"), later_stop)

    assert api.request("PATCH", D, who="admin", json={"overdue_stop": STOP_60}).status_code == 200
    _refused(_draw(api, "INV-3", "100.00"), 409, "overdue_stop")
    by_admin = api.request("PATCH", D, who="admin", json={"overdue_stop": None})
    assert by_admin.status_code == 200 and by_admin.json()["overdue_stop"] is None
    assert _draw(api, "INV-3", "100.00").status_code == 201
    _refused(_decide(api, mixed.json()["id"], "approve"), 409, "policy_changed")  # asked from {90 days, 500.00}


def test_the_policy_row_is_locked_before_the_distributors_row(api):
    """One lock order everywhere (a deadlock otherwise): an officer's PATCH of the stop, the
    payment terms and hold_days, and the approval of a stop request, each lock (PostgreSQL:
    SELECT … FOR NO KEY UPDATE) or write the credit_policy row before the distributor row."""
    _overdue_desk(api)
    assert api.request("PATCH", D, who="admin", json={"overdue_stop": STOP_60}).status_code == 200
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sql = " ".join(statement.split())
        if re.match(r"(INSERT INTO|UPDATE) (credit_policy|distributor)\b", sql) or " FOR NO KEY UPDATE" in sql:
            seen.append(re.sub(r"^.*?\b(credit_policy|distributor)\b.*$", r"\1", sql.split(" WHERE ")[0]))

    def tables_touched() -> list[str]:
        first = [t for i, t in enumerate(seen) if t in ("credit_policy", "distributor") and t not in seen[:i]]
        seen.clear()
        return first

    event.listen(api.uow.engine, "before_cursor_execute", record)
    try:
        body = {"overdue_stop": {"after_days": 30, "min_amount": eur("500.00")}, "payment_terms_days": 45}
        assert api.request("PATCH", D, json={**body, "hold_days": 10}).status_code == 200
        assert tables_touched() == ["credit_policy", "distributor"]
        asked = api.request("PATCH", D, json={"overdue_stop": None, "payment_terms_days": 30})
        assert asked.status_code == 202
        assert tables_touched() == ["credit_policy", "distributor"]
        assert _decide(api, asked.json()["id"], "approve").status_code == 200
        assert tables_touched() == ["credit_policy", "distributor"]
    finally:
        event.remove(api.uow.engine, "before_cursor_execute", record)
    assert _stop(api) is None and api.get(f"{D}/credit-policy").json()["payment_terms_days"] == 30
