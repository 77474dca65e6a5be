"""An officer — or the ERP's integration key — trying to get around four eyes (review of issue 20)."""

from __future__ import annotations

from creditlines import clock
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1"


def _desk(api, limit: str = "10000.00", threshold: str = "5000.00") -> None:
    assert api.put(R, json={"name": "R-1"}).status_code == 201
    assert api.put(R + "/base-limit", json={"limit": eur(limit), "reason": "open"}).status_code == 200
    assert api.request("PATCH", D, who="admin", json={"approval_threshold": eur(threshold)}).status_code == 200


def test_the_erp_cannot_extend_a_million_of_credit_through_a_financing(api):
    """Base limit 10,000, threshold 5,000: the ERP's key may not touch the base limit (403), yet
    POST /v1/distributors/actebis/resellers/R-1/financings {"reference": "F-1", "financier": "anyone",
    "amount": {"amount": "1000000.00", "currency": "EUR"}, "order_reference": "SO-1"} answers 201,
    SO-1 of 1,000,000 is accepted on it, and 48 h later the unpaid million moves to the base line:
    R-1 owes 1,000,000 on a 10,000 limit, no officer ever asked, no second officer ever approved."""
    _desk(api)
    raise_ = api.put(R + "/base-limit", who="integration", json={"limit": eur("20000.00"), "reason": "more"})
    assert raise_.status_code == 403  # the ERP may not raise the base limit itself
    body = {"reference": "F-1", "financier": "anyone", "amount": eur("1000000.00"), "order_reference": "SO-1"}
    financed = api.post(R + "/financings", who="integration", json=body)
    if financed.status_code == 201:  # the hole: then the million is drawn and lands on the base line
        order = api.post(R + "/drawings", who="integration", json={"reference": "SO-1", "amount": eur("1000000.00")})
        assert order.status_code == 201, order.text
        clock.set_now("2026-03-04T10:00:00+00:00")  # 49 hours later, the "financier" never paid
        assert api.post("/v1/jobs/expiry", who="admin", json={}).status_code == 200
        view = api.get(R + "/availability").json()
        assert view["total_drawn"] == eur("1000000.00") and view["over_limit"] is True
    # what four eyes would require: not created at once by the ERP's key
    assert financed.status_code in (202, 403, 422), financed.text


def test_hold_days_and_a_loosening_in_one_patch(api):
    """An officer's PATCH {"approval_threshold": null, "hold_days": 90}: the loosening is a pending
    request (202); hold_days applies at once (DECISIONS: neither way a control). The ERP's key may
    not PATCH at all."""
    _desk(api)
    asked = api.request("PATCH", D, json={"approval_threshold": None, "hold_days": 90})
    assert asked.status_code == 202, asked.text
    policy = api.get(D + "/credit-policy").json()
    assert policy["approval_threshold"] == eur("5000.00") and policy["hold_days"] == 90
    assert api.request("PATCH", D, who="integration", json={"hold_days": 1}).status_code == 403
    assert api.request("PATCH", D, who="partner", json={"hold_days": 1}).status_code == 403


def test_the_requester_cannot_approve_its_own_requests_by_any_path(api):
    """The officer who asked decides neither its raise nor its loosening nor its cover raise,
    through the API or through its console session; a second officer key can."""
    _desk(api)
    api.keys["second officer"] = api.key("credit_officer", distributor_id="actebis")
    raise_ = api.put(R + "/base-limit", json={"limit": eur("50000.00"), "reason": "more"}).json()
    loosen = api.request("PATCH", D, json={"approval_threshold": None}).json()
    cover = api.put(
        R + "/insurance", json={"insurer": "atradius", "cover": eur("1000000.00"), "decided_on": "2026-03-01"}
    )
    assert cover.status_code == 202, cover.text
    decision = {"decision": "approve", "reason": "mine"}
    for path in (
        f"{D}/limit-requests/{raise_['id']}/decision",
        f"{D}/policy-requests/{loosen['id']}/decision",
        f"{D}/policy-requests/{cover.json()['id']}/decision",
    ):
        answer = api.post(path, json=decision)
        assert answer.status_code == 403 and answer.json()["code"] == "same_approver", answer.text
    # eight small raises: the second one is already a request (steps add up over 30 days)
    api.keys["third"] = api.key("credit_officer", distributor_id="actebis")
    assert api.put(D + "/resellers/R-2", who="third", json={"name": "R-2"}).status_code == 201
    answers = [
        api.put(D + "/resellers/R-2/base-limit", who="third", json={"limit": eur(f"{5000 * i}.00"), "reason": "step"})
        for i in (1, 2)
    ]
    assert [a.status_code for a in answers] == [200, 202]


def test_one_officer_cannot_drop_the_approval_of_a_vendors_enrolments(api):
    """Actebis decides Microsoft's enrolments (requires_approval) and caps its lines at 5,000. One
    officer's PUT /v1/distributors/actebis/vendors/microsoft {"note": "new contact"} (a full
    replacement: the omitted fields take their defaults) answers 200/201 and leaves
    requires_approval false and no cap: Microsoft's next enrolment grants at once, no officer asked."""
    body = {"requires_approval": True, "max_line_limit": eur("5000.00")}
    assert api.put(f"{D}/vendors/microsoft", who="admin", json=body).status_code in (200, 201)
    answer = api.put(f"{D}/vendors/microsoft", json={"note": "new contact"})
    after = api.get(f"{D}/vendors/microsoft").json()
    assert answer.status_code == 202 or (after["requires_approval"] and after["max_line_limit"] == eur("5000.00")), (
        answer.status_code,
        after,
    )
