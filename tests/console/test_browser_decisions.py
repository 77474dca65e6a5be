"""The credit desk's decisions in a real browser against a real `creditlines serve`, on SQLite
and PostgreSQL (SPEC §12 through §14's pages).

At Actebis a raise of more than EUR 5,000 needs a second officer, base limits are capped at the
insurer's cover + EUR 2,000, and HP's enrolments wait for the desk. Officer A asks to raise
Bureau Vallée Lyon from 10,000 to 20,000: a pending request; A cannot approve it; officer B
approves 15,000. HP nominates Dupont Lille; B refuses with the code `credit_risk` and a reason
HP never sees. Coface then cancels its cover on Bureau Vallée Lyon: its limit is cut to 2,000
with 2,500 drawn — over its limit, and in the cover-cuts listing. Screenshots in
var/console-screenshots/ (decisions-*)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creditlines.db.engine import UnitOfWork, make_engine
from tests.console import decisions_story, story
from tests.console.test_browser import ADMIN_KEY, eur, screenshot, sign_in
from tests.harness import Server, app_url, pg_database, serve

SECRET_REASON = "two unpaid invoices at our Lille branch"


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_server(request: Any, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    if request.param == "sqlite":
        path = tmp_path / "console.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        keys = _load(url)
        with serve(url, admin_key=ADMIN_KEY, now=story.NOW, workers=1) as server:
            yield server, keys
    else:
        request.getfixturevalue("pg_admin_url")  # skips (or fails under CI) without PostgreSQL
        with pg_database("console_decisions") as url:
            keys = _load(url)
            with serve(app_url(url), admin_key=ADMIN_KEY, now=story.NOW, workers=1) as server:
                yield server, keys


def _load(url: str) -> dict[str, str]:
    engine = make_engine(url, pool_size=2)
    try:
        return decisions_story.load(UnitOfWork(engine))
    finally:
        engine.dispose()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    assert "You are signed out." in page.content()


def test_the_credit_desk_decides(
    browser: Any, desk_server: tuple[Server, dict[str, str]], screenshot_dir: Path, request: Any
) -> None:
    server, keys = desk_server
    db = request.node.callspec.params["desk_server"]
    base = server.base
    desk = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    lyon = "/console/distributors/actebis/resellers/R-1001"

    # Officer A asks for 20,000: above the 5,000 threshold, a request; the limit is unchanged.
    sign_in(page, base, keys["officer"], lyon)
    assert "waits for a second officer" in page.locator("#threshold-note").inner_text()
    page.get_by_label("New base limit (EUR)").fill("20 000")
    page.locator("#limit-reason").fill("second shop in Villeurbanne")
    page.get_by_role("button", name="Set base limit").click()
    assert page.get_by_role("status").first.inner_text() == "Request pending, to be decided by another officer."
    assert f"Raise from {eur('10 000,00 €')} to {eur('20 000,00 €')}" in page.locator("#pending-requests").inner_text()
    assert page.locator("#total-limit").inner_text() == eur("10 000,00 €")
    screenshot(page, screenshot_dir, db, "decisions-request-pending")

    # A opens the limit requests and tries to approve its own raise: four eyes refuses.
    page.get_by_role("link", name="Limit requests", exact=True).click()
    page.wait_for_url("**/limit-requests")  # count() does not wait for the page it counts on
    card = page.locator("article.request")
    card.first.wait_for()
    assert card.count() == 1 and "You asked for this raise" in card.inner_text()
    card.get_by_label("Reason").fill("approved")
    card.get_by_role("button", name="Approve").click()
    alert = page.get_by_role("alert")
    assert "same_approver" in alert.inner_text() and "another officer must" in alert.inner_text()
    screenshot(page, screenshot_dir, db, "decisions-same-approver")
    sign_out(page)

    # Officer B approves it for less: 15,000.
    sign_in(page, base, keys["officer_b"], "/console/distributors/actebis/limit-requests")
    card = page.locator("article.request")
    assert "You asked" not in card.inner_text()
    card.get_by_label("Approve for less (EUR, optional)").fill("15 000,00")
    card.get_by_label("Reason").fill("half now, the rest after the first quarter")
    card.get_by_role("button", name="Approve").click()
    assert page.get_by_role("status").first.inner_text() == "Approved."
    decided = page.locator("#recent-requests tbody tr").first.inner_text()
    assert "approved" in decided and eur("15 000,00 €") in decided and "credit_officer:" in decided
    screenshot(page, screenshot_dir, db, "decisions-limit-requests")
    page.goto(base + lyon)
    assert page.locator("#total-limit").inner_text() == eur("15 000,00 €")

    # HP enrols Dupont Lille in HP Boost: Actebis decides, so the outcome is a nomination.
    vendor = browser.new_context(viewport={"width": 1280, "height": 900})
    hp = vendor.new_page()
    sign_in(hp, base, keys["partner_hp"])
    hp.get_by_role("link", name="HP Boost").click()
    hp.get_by_label("Paste rows").fill("R-1002;3 000")
    hp.get_by_role("button", name="Enrol").click()
    row = hp.locator("#outcomes tbody tr").first.inner_text()
    assert "pending approval" in row and "nomination nom-" in row
    assert hp.locator("#beneficiaries").inner_text() == "0"

    # Officer B refuses it with a code and a reason of the desk's own.
    page.get_by_role("link", name="Nominations", exact=True).click()
    card = page.locator("article.request")
    assert "R-1002 nominated by hp for boost@actebis" in card.inner_text()
    screenshot(page, screenshot_dir, db, "decisions-nomination-pending")
    card.get_by_label("Reason").fill(SECRET_REASON)
    card.get_by_label("Refusal code, if rejected (all the vendor sees)").select_option("credit_risk")
    card.get_by_role("button", name="Reject").click()
    assert page.get_by_role("status").first.inner_text() == "Rejected."
    assert SECRET_REASON in page.locator("#recent-nominations").inner_text()
    screenshot(page, screenshot_dir, db, "decisions-nominations")

    # HP sees the refusal's code, never the reason.
    hp.goto(base + "/console/vendors/hp/programmes/boost@actebis")
    nominations = hp.locator("#nominations").inner_text()
    assert "rejected" in nominations and "credit_risk" in nominations
    assert hp.locator("#nominations tbody tr").count() == 1
    assert SECRET_REASON not in hp.content()
    screenshot(hp, screenshot_dir, db, "decisions-partner-nominations")
    vendor.close()

    # Coface cancels its cover on Bureau Vallée Lyon: the limit is cut to 2,000 (cover 0 +
    # 2,000 discretionary) with 2,500 drawn — 500 over its limit.
    page.goto(base + lyon)
    assert eur("22 000,00 €") in page.locator("#cover").inner_text()  # the cap before the cut
    page.get_by_label("Insurer", exact=True).fill("Coface")
    page.get_by_label("Cover (EUR; 0 when cancelled)").fill("0")
    page.get_by_label("Decided on").fill("2026-03-02")
    page.get_by_label("Reference (optional)").fill("COF-2026-0302")
    page.get_by_role("button", name="Record the cover decision").click()
    assert "cut to the insured cap (insurer_cut)" in page.get_by_role("status").first.inner_text()
    assert page.locator("#total-limit").inner_text() == eur("2 000,00 €")
    assert page.locator(".status-over").count() == 1
    assert "Over limit by " + eur("500,00 €") in page.locator("#cover-over-limit").inner_text()
    assert page.locator("#cover-history tbody tr").count() == 2
    screenshot(page, screenshot_dir, db, "decisions-cover-cut")

    # The cover-cuts listing, and its CSV.
    page.get_by_role("link", name="Listings", exact=True).click()
    page.get_by_role("link", name="Cover cuts").click()
    table = page.locator("table.data").inner_text()
    assert "R-1001" in table and eur("20 000,00 €") in table and "R-1002" not in table
    screenshot(page, screenshot_dir, db, "decisions-cover-cuts")
    with page.expect_download() as info:
        page.locator("#csv-download").click()
    lines = Path(info.value.path()).read_text().splitlines()
    assert lines[0].startswith("reseller_id,reseller_name,status,insurer,cut_on,cover_before,cover_after")
    assert lines[1].startswith("R-1001,Bureau Vallée Lyon,active,Coface,2026-03-02,20000.00,0.00,2000.00,2500.00")

    # The officer of ETC sees none of it.
    sign_out(page)
    sign_in(page, base, keys["officer_etc"], "/console/distributors/actebis/limit-requests")
    assert page.locator("h1").inner_text() == "Not in your scope"
    page.goto(base + "/console/distributors/etc/limit-requests")
    assert page.locator("#no-pending").count() == 1 and "R-1001" not in page.content()
    desk.close()
