"""Four eyes that hold against the officer they control (SPEC §23), through HTTP only.

Each story is one an adversarial officer tried on the second version (issue 20): removing the
threshold, raising in steps under it, recording a large cover, approving a stale request."""

from __future__ import annotations

from datetime import timedelta

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
