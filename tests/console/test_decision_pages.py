"""The console's credit decisions without a browser, on SQLite and PostgreSQL (SPEC §12, §14):
four eyes on a raise, nominations decided by Actebis' desk and followed by HP, an insurer's cut
leaving a reseller over its limit, and the scope and CSRF checks of every new form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import limit_requests
from creditlines.programmes import nominations
from tests.console import decisions_story
from tests.console.test_pages import sign_in

D = "/console/distributors/actebis"
BOOST = "/console/vendors/hp/programmes/boost@actebis"
SECRET_REASON = "unpaid invoices at our Lille branch"


@pytest.fixture
def desk(engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str], UnitOfWork]]:
    """A client factory (one browser session each), the keys, and the unit of work."""
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_CONSOLE_SECRET", "a-test-secret-of-enough-length")
    get_settings.cache_clear()
    app = create_app(database_url=engine.url.render_as_string(hide_password=False))
    keys = decisions_story.load(app.state.uow)
    clients: list[TestClient] = []

    def client() -> TestClient:
        c = TestClient(app, raise_server_exceptions=True, base_url="http://127.0.0.1")
        c.__enter__()
        clients.append(c)
        return c

    yield client, keys, app.state.uow
    for c in clients:
        c.__exit__(None, None, None)
    app.state.uow.dispose()
    get_settings.cache_clear()


def base_limit(uow: UnitOfWork, reseller_id: str) -> int:
    from creditlines.ledger import repository

    with uow.read() as s:
        return next(line.limit_minor for line in repository.lines_of(s, "actebis", reseller_id) if line.kind == "base")


def text_of(html: str) -> str:
    """The page's text, tags removed and spaces of any kind made plain."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_raise_above_the_threshold_waits_for_another_officer(desk: Any) -> None:
    """Officer A asks to raise Bureau Vallée Lyon from 10,000 to 20,000 (more than the 5,000
    threshold): a request, nothing changed. A cannot approve it (same_approver); B approves
    15,000; deciding it again is refused (already_decided)."""
    client, keys, uow = desk
    a = client()
    token_a = sign_in(a, keys["officer"])
    answer = a.post(f"{D}/resellers/R-1001/base-limit", data={"csrf": token_a, "limit": "20 000", "reason": "new shop"})
    assert answer.status_code == 200 and answer.url.path.endswith("/resellers/R-1001")
    page = text_of(answer.text)
    assert "Request pending, to be decided by another officer." in page
    assert "Raise from 10 000,00 € to 20 000,00 €" in page and "new shop" in page
    assert base_limit(uow, "R-1001") == 1_000_000
    with uow.read() as s:
        (request,) = limit_requests.list_requests(s, distributor_id="actebis", status="pending", after=None, limit=9)

    listing = a.get(f"{D}/limit-requests")
    assert request.id in listing.text and "You asked for this raise" in listing.text
    refused = a.post(
        f"{D}/limit-requests/{request.id}/decision",
        data={"csrf": token_a, "decision": "approve", "limit": "", "reason": "fine"},
    )
    assert refused.status_code == 403 and "same_approver" in refused.text and "another officer must" in refused.text
    with uow.read() as s:
        assert limit_requests.get(s, distributor_id="actebis", request_id=request.id).status == "pending"

    b = client()
    token_b = sign_in(b, keys["officer_b"])
    assert "You asked for this raise" not in b.get(f"{D}/limit-requests").text
    more = b.post(
        f"{D}/limit-requests/{request.id}/decision",
        data={"csrf": token_b, "decision": "approve", "limit": "25 000", "reason": "more"},
    )
    assert more.status_code == 422 and "approve at most" in more.text and base_limit(uow, "R-1001") == 1_000_000
    answer = b.post(
        f"{D}/limit-requests/{request.id}/decision",
        data={"csrf": token_b, "decision": "approve", "limit": "15 000,00", "reason": "half the shop"},
    )
    assert answer.status_code == 200 and "Approved." in answer.text and "No request waits" in answer.text
    assert "15 000,00" in text_of(answer.text) and "half the shop" in answer.text
    assert base_limit(uow, "R-1001") == 1_500_000
    again = b.post(
        f"{D}/limit-requests/{request.id}/decision",  # a second tab, still showing the form
        data={"csrf": token_b, "decision": "reject", "reason": "changed my mind"},
    )
    assert again.status_code == 409 and "already_decided" in again.text and "already approved" in again.text
    assert base_limit(uow, "R-1001") == 1_500_000


def test_within_the_threshold_applies_at_once_and_the_cap_refuses(desk: Any) -> None:
    client, keys, uow = desk
    a = client()
    token = sign_in(a, keys["officer"])
    answer = a.post(f"{D}/resellers/R-1001/base-limit", data={"csrf": token, "limit": "12000", "reason": "regular"})
    assert "Base limit set." in answer.text and base_limit(uow, "R-1001") == 1_200_000
    # Dupont Lille: Coface covers 3,000, so its base limit is at most 5,000.
    answer = a.post(f"{D}/resellers/R-1002/base-limit", data={"csrf": token, "limit": "6000", "reason": "x"})
    assert answer.status_code == 422 and "above the insured cap" in answer.text
    assert base_limit(uow, "R-1002") == 200_000


def test_an_already_decided_request_says_so(desk: Any) -> None:
    """B rejects A's request; a decision sent afterwards (another tab) is refused with its code."""
    client, keys, uow = desk
    a, b = client(), client()
    token_a, token_b = sign_in(a, keys["officer"]), sign_in(b, keys["officer_b"])
    a.post(f"{D}/resellers/R-1001/base-limit", data={"csrf": token_a, "limit": "20000", "reason": "shop"})
    with uow.read() as s:
        (request,) = limit_requests.list_requests(s, distributor_id="actebis", status="pending", after=None, limit=9)
    url = f"{D}/limit-requests/{request.id}/decision"
    blank = b.post(url, data={"csrf": token_b, "decision": "reject", "reason": "  "})  # a reason is required
    assert blank.status_code == 422 and "reason must be 1 to" in blank.text
    assert b.post(url, data={"csrf": token_b, "decision": "maybe", "reason": "x"}).status_code == 422
    assert b.post(url, data={"csrf": token_b, "decision": "reject", "reason": "too soon"}).status_code == 200
    second = a.post(url, data={"csrf": token_a, "decision": "approve", "reason": "after all"})
    assert second.status_code == 403 and "same_approver" in second.text  # four eyes is checked first
    third = client()
    token_c = sign_in(third, keys["officer_b"])
    late = third.post(url, data={"csrf": token_c, "decision": "approve", "reason": "after all"})
    assert late.status_code == 409 and "already_decided" in late.text and "already rejected" in late.text
    assert base_limit(uow, "R-1001") == 1_000_000
    recent = text_of(b.get(f"{D}/limit-requests").text)
    assert "rejected" in recent and "too soon" in recent


def test_a_nomination_rejected_shows_the_vendor_its_code_only(desk: Any) -> None:
    """HP enrols Dupont Lille in HP Boost: Actebis decides. Its desk refuses with the code
    credit_risk and a reason of its own; HP sees `rejected` and `credit_risk`, not the reason.
    HP nominates again; the desk approves for less: a line of 2,000."""
    client, keys, uow = desk
    hp = client()
    token_hp = sign_in(hp, keys["partner_hp"])
    answer = hp.post(f"{BOOST}/enrolments", data={"csrf": token_hp, "rows": "R-1002;3000"})
    assert answer.status_code == 200
    row = text_of(re.search(r'<tr class="outcome-pending_approval">.*?</tr>', answer.text, re.S).group(0))
    with uow.read() as s:
        (nomination,) = nominations.list_for_distributor(
            s, distributor_id="actebis", status="pending", after=None, limit=9
        )
    assert "pending approval" in row and f"nomination {nomination.id}" in row

    officer = client()
    token = sign_in(officer, keys["officer"])
    page = text_of(officer.get(f"{D}/nominations").text)
    assert "R-1002 nominated by hp for boost@actebis: a line of 3 000,00 €" in page
    bad = officer.post(
        f"{D}/nominations/{nomination.id}/decision",
        data={"csrf": token, "decision": "reject", "reason": SECRET_REASON, "refusal_code": "bogus"},
    )
    assert bad.status_code == 422 and "refusal_code" in bad.text
    answer = officer.post(
        f"{D}/nominations/{nomination.id}/decision",
        data={"csrf": token, "decision": "reject", "reason": SECRET_REASON, "refusal_code": "credit_risk"},
    )
    assert answer.status_code == 200 and "Rejected." in answer.text and SECRET_REASON in answer.text

    seen = hp.get(BOOST).text
    assert "credit_risk" in seen and "rejected" in seen and SECRET_REASON not in seen

    hp.post(f"{BOOST}/enrolments", data={"csrf": token_hp, "rows": "R-1002;3000"})
    with uow.read() as s:
        (again,) = nominations.list_for_distributor(s, distributor_id="actebis", status="pending", after=None, limit=9)
    too_much = officer.post(
        f"{D}/nominations/{again.id}/decision",
        data={"csrf": token, "decision": "approve", "limit": "3 500", "reason": "more"},
    )
    assert too_much.status_code == 422 and "nominated" in too_much.text and f'id="error-{again.id}"' in too_much.text
    answer = officer.post(
        f"{D}/nominations/{again.id}/decision",
        data={"csrf": token, "decision": "approve", "limit": "2 000", "reason": "a start", "refusal_code": "declined"},
    )
    assert answer.status_code == 200 and "Approved." in answer.text
    seen = text_of(hp.get(BOOST).text)
    assert "approved" in seen and "2 000,00 €" in seen and "a start" not in seen


def test_a_cover_cut_leaves_the_reseller_over_its_limit(desk: Any) -> None:
    """Coface cancels its cover on Bureau Vallée Lyon (10,000 limit, 2,500 drawn): under cover +
    2,000 its base limit is cut to 2,000, 500 over. It appears in the cover-cuts listing and CSV."""
    client, keys, uow = desk
    a = client()
    token = sign_in(a, keys["officer"])
    form = {"csrf": token, "insurer": "Coface", "cover": "0", "decided_on": "2026-03-02", "reference": "COF-1"}
    answer = a.post(f"{D}/resellers/R-1001/insurance", data=form)
    page = text_of(answer.text)
    assert "base limit was cut to the insured cap (insurer_cut)" in page
    assert "Over limit by 500,00 €" in page and "Cover cancelled by Coface" in page
    assert base_limit(uow, "R-1001") == 200_000
    again = a.post(f"{D}/resellers/R-1001/insurance", data=form)
    assert "already the current one: nothing changed" in again.text
    future = a.post(f"{D}/resellers/R-1001/insurance", data={**form, "decided_on": "2026-03-03"})
    assert future.status_code == 422 and "decided_on" in future.text
    assert a.post(f"{D}/resellers/R-1001/insurance", data={**form, "decided_on": "2 mars"}).status_code == 422

    listing = text_of(a.get(f"{D}/listings/cover-cuts").text)
    assert "R-1001" in listing and "20 000,00 €" in listing and "R-1002" not in listing
    csv_text = a.get(f"{D}/listings/cover-cuts.csv").text
    assert csv_text.splitlines()[1].startswith(
        "R-1001,Bureau Vallée Lyon,active,Coface,2026-03-02,20000.00,0.00,2000.00,2500.00,0.00,,True,EUR"
    )


def test_decision_pages_keep_scope_and_csrf(desk: Any) -> None:
    client, keys, uow = desk
    a = client()
    token = sign_in(a, keys["officer"])
    a.post(f"{D}/resellers/R-1001/base-limit", data={"csrf": token, "limit": "20000", "reason": "shop"})
    with uow.read() as s:
        (request,) = limit_requests.list_requests(s, distributor_id="actebis", status="pending", after=None, limit=9)
    posts = [
        (f"{D}/limit-requests/{request.id}/decision", {"decision": "approve", "reason": "x"}),
        (f"{D}/nominations/nom-x/decision", {"decision": "reject", "reason": "x"}),
        (f"{D}/resellers/R-1001/insurance", {"insurer": "X", "cover": "0", "decided_on": "2026-03-01"}),
    ]
    for path, data in posts:  # a forged token: refused before anything is read
        answer = a.post(path, data={**data, "csrf": "forged"})
        assert answer.status_code == 403 and "Form refused" in answer.text

    etc = client()
    token_etc = sign_in(etc, keys["officer_etc"])
    for path in (f"{D}/limit-requests", f"{D}/nominations", f"{D}/listings/cover-cuts", f"{D}/listings/cover-cuts.csv"):
        assert etc.get(path).status_code == 403, path
    for path, data in posts:
        answer = etc.post(path, data={**data, "csrf": token_etc})
        assert answer.status_code == 403 and "Not in your scope" in answer.text
    assert request.id not in etc.get("/console/distributors/etc/limit-requests").text
    with uow.read() as s:
        assert limit_requests.get(s, distributor_id="actebis", request_id=request.id).status == "pending"

    hp = client()
    sign_in(hp, keys["partner_hp"])
    assert hp.get(f"{D}/limit-requests").status_code == 403
    assert hp.get(f"{D}/nominations").status_code == 403
    assert "Limit requests" not in hp.get(BOOST).text  # no officer's entry in a partner's navigation
