"""The console follows the four eyes of SPEC §23 through the library: a large cover raise from
the reseller page waits for another officer on the policy requests page; a limit request shows
the live limit, and one left stale by a cut can no longer be approved."""

from __future__ import annotations

from typing import Any

from creditlines.decisions import limit_requests, policy_requests
from tests.console import test_decision_pages as pages
from tests.console.test_decision_pages import D, base_limit, text_of
from tests.console.test_pages import sign_in

desk = pages.desk  # the decisions story's desk (a fixture)


def test_a_large_cover_raise_waits_for_another_officer_in_the_console(desk: Any) -> None:
    """Coface covers Dupont Lille (R-1002) for 3,000; officer A records 500,000 from the reseller
    page: nothing recorded, a policy request. A cannot approve it; B approves it on the page."""
    client, keys, uow = desk
    a, b = client(), client()
    token_a, token_b = sign_in(a, keys["officer"]), sign_in(b, keys["officer_b"])
    answer = a.post(
        f"{D}/resellers/R-1002/insurance",
        data={"csrf": token_a, "insurer": "Coface", "cover": "500 000", "decided_on": "2026-03-01"},
    )
    assert answer.status_code == 200 and "Cover raise pending" in text_of(answer.text)
    with uow.read() as s:
        (request,) = policy_requests.list_requests(s, distributor_id="actebis", status="pending", after=None, limit=9)
    assert request.kind == "insurance_cover" and request.reseller_id == "R-1002"
    page = text_of(a.get(f"{D}/policy-requests").text)
    assert "Cover of R-1002" in page and "500 000,00" in page and "another officer decides it" in page
    url = f"{D}/policy-requests/{request.id}/decision"
    mine = a.post(url, data={"csrf": token_a, "decision": "approve", "reason": "mine"})
    assert mine.status_code == 403 and "same_approver" in mine.text
    approved = b.post(url, data={"csrf": token_b, "decision": "approve", "reason": "Coface letter seen"})
    assert approved.status_code == 200 and "Approved." in approved.text
    reseller = text_of(b.get(f"{D}/resellers/R-1002").text)
    assert "500 000,00 € covered by Coface" in reseller


def test_a_request_left_stale_by_a_cut_shows_the_live_limit_and_cannot_be_approved(desk: Any) -> None:
    client, keys, uow = desk
    a, b = client(), client()
    token_a, token_b = sign_in(a, keys["officer"]), sign_in(b, keys["officer_b"])
    a.post(f"{D}/resellers/R-1001/base-limit", data={"csrf": token_a, "limit": "20000", "reason": "shop"})
    with uow.read() as s:
        (request,) = limit_requests.list_requests(s, distributor_id="actebis", status="pending", after=None, limit=9)
    page = text_of(b.get(f"{D}/limit-requests").text)
    assert "Base limit now: 10 000,00 €" in page and "changed since" not in page
    cut = b.post(f"{D}/resellers/R-1001/base-limit", data={"csrf": token_b, "limit": "0", "reason": "fraud?"})
    assert cut.status_code == 200 and base_limit(uow, "R-1001") == 0
    late = b.post(
        f"{D}/limit-requests/{request.id}/decision", data={"csrf": token_b, "decision": "approve", "reason": "ok"}
    )
    assert late.status_code == 409 and "limit_changed" in late.text
    assert base_limit(uow, "R-1001") == 0


def test_a_loosened_overdue_stop_waits_on_the_policy_requests_page(desk: Any) -> None:
    """Actebis' stop is {60 days, 500.00}. Officer A (through the API) asks {90 days, 1,000.00}:
    the page shows "overdue stop: more than 90 days overdue, at least 1 000,00 €" until officer B
    approves it there; then the stop is {90 days, 100000 minor}. A's removal of the stop then
    shows "overdue stop: none (removed)"."""
    from creditlines.ledger import terms

    client, keys, uow = desk
    with uow.write() as s:
        terms.update_policy(s, distributor_id="actebis", overdue_stop=terms.OverdueStop(60, 50000))
    a, b = client(), client()
    token_b = sign_in(b, keys["officer_b"])
    officer_a = {"Authorization": f"Bearer {keys['officer']}"}
    later = {"after_days": 90, "min_amount": {"amount": "1000.00", "currency": "EUR"}}
    asked = a.patch("/v1/distributors/actebis", headers=officer_a, json={"overdue_stop": later})
    assert asked.status_code == 202, asked.text
    page = text_of(b.get(f"{D}/policy-requests").text)
    assert "Credit policy" in page and "overdue stop: more than 90 days overdue, at least 1 000,00 €" in page
    url = f"{D}/policy-requests/{asked.json()['id']}/decision"
    approved = b.post(url, data={"csrf": token_b, "decision": "approve", "reason": "agreed with the insurer"})
    assert approved.status_code == 200 and "Approved." in approved.text
    with uow.read() as s:
        assert terms.policy_of(s, "actebis").overdue_stop == terms.OverdueStop(90, 100000)
    removed = a.patch("/v1/distributors/actebis", headers=officer_a, json={"overdue_stop": None})
    assert removed.status_code == 202, removed.text
    assert "overdue stop: none (removed)" in text_of(b.get(f"{D}/policy-requests").text)
