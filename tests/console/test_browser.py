"""The console in a real browser against a real `creditlines serve`, on SQLite and PostgreSQL.

The credit officer of Actebis signs in, finds Bureau Vallée Lyon, asks whether it may order
EUR 7,500 and EUR 9,000, raises its base limit, holds and releases it, and downloads the
over-limit listing; Microsoft's partner manager opens Mezzanine and enrols resellers from a
pasted list and an uploaded file. Keys outside their scope are refused, a forged form is
refused, and signing out ends the session. Screenshots land in var/console-screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from creditlines.db.engine import UnitOfWork, make_engine
from tests.console import story
from tests.harness import Server, app_url, pg_database, serve

ADMIN_KEY = "console-test-admin-key-of-32-characters"
NNBSP, NBSP = "\u202f", "\u00a0"


def eur(text: str) -> str:
    """``10 500,00 €`` as babel writes it for fr_FR (narrow no-break space, no-break space)."""
    return text.replace(" ", NNBSP).replace(NNBSP + "€", NBSP + "€")


@pytest.fixture(params=["sqlite", "postgresql"])
def console_server(request: Any, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    if request.param == "sqlite":
        path = tmp_path / "console.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        keys = _load(url)
        with serve(url, admin_key=ADMIN_KEY, now=story.NOW, workers=1) as server:
            yield server, keys
    else:
        request.getfixturevalue("pg_admin_url")  # skips (or fails under CI) without PostgreSQL
        with pg_database("console") as url:
            keys = _load(url)
            with serve(app_url(url), admin_key=ADMIN_KEY, now=story.NOW, workers=1) as server:
                yield server, keys


def _load(url: str) -> dict[str, str]:
    engine = make_engine(url, pool_size=2)
    try:
        return story.load(UnitOfWork(engine))
    finally:
        engine.dispose()


def sign_in(page: Any, base: str, key: str, path: str = "/console/") -> None:
    """By keyboard: the key field has the focus, Enter submits."""
    page.goto(base + path)
    assert "/console/sign-in" in page.url
    # autofocus is applied by the browser after the load event, later on a busy machine: wait for it
    # (up to 5 s), then assert; a page without autofocus still fails here.
    try:
        page.wait_for_function("document.activeElement && document.activeElement.id === 'api_key'", timeout=5000)
    except PlaywrightTimeout:  # the assertion below says what failed
        pass
    assert page.evaluate("document.activeElement.id") == "api_key"
    page.keyboard.insert_text(key)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_officer_journey(
    browser: Any, console_server: tuple[Server, dict[str, str]], screenshot_dir: Path, request: Any
) -> None:
    server, keys = console_server
    db = request.node.callspec.params["console_server"]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    base = server.base

    # Signing in lands on the desk of the key's distributor, its scope on the page.
    sign_in(page, base, keys["officer"])
    assert page.url.endswith("/console/distributors/actebis/resellers")
    assert page.locator(".scope").inner_text() == "Credit officer · Actebis"
    cookie = next(c for c in context.cookies() if c["name"] == "creditlines_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert keys["officer"] not in cookie["value"] and keys["officer"].split("_", 2)[2] not in cookie["value"]

    # Search by name, then by customer number, with a filter.
    page.get_by_label("Customer number or name").fill("lyon")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 1 and "Bureau Vallée Lyon" in rows.first.inner_text()
    page.get_by_label("Customer number or name").fill("R-100")
    page.get_by_label("Over limit").select_option("yes")
    page.get_by_role("button", name="Search").click()
    assert page.locator("table.data tbody tr").count() == 1
    assert "R-1003" in page.locator("table.data tbody tr").first.inner_text()
    screenshot(page, screenshot_dir, db, "officer-search")

    # The reseller: totals in French, a bar per line.
    page.get_by_label("Customer number or name").fill("lyon")
    page.get_by_label("Over limit").select_option("")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="R-1001").click()
    assert page.locator("#total-limit").inner_text() == eur("10 000,00 €")
    assert page.locator("#total-drawn").inner_text() == eur("2 500,00 €")
    assert page.locator("#total-available").inner_text() == eur("7 500,00 €")
    assert page.locator("svg.bars .seg-drawn").count() == 1

    # "Can it take EUR 7,500 more?" — yes, from the base line; 9,000 — no, 1,500 short.
    page.get_by_label("Order amount (EUR)").fill("7 500,00")
    page.get_by_role("button", name="Check").click()
    assert page.locator("#decision .verdict").inner_text() == f"Yes: {eur('7 500,00 €')} can be ordered now."
    assert "actebis" in page.locator("#decision table").inner_text()
    page.get_by_label("Order amount (EUR)").fill("9000")
    page.get_by_role("button", name="Check").click()
    assert eur("1 500,00 €") + " short" in page.locator("#decision .verdict").inner_text()
    assert "insufficient_credit" in page.locator("#decision").inner_text()
    screenshot(page, screenshot_dir, db, "officer-reseller")

    # A refusal is shown beside its form; then the limit is raised to 12,000.
    page.get_by_label("New base limit (EUR)").fill("12 000,005")
    page.get_by_label("Reason", exact=True).first.fill("insurer cover raised")
    page.get_by_role("button", name="Set base limit").click()
    assert "at most 2 decimals" in page.locator("#limit-error").inner_text()
    assert page.locator("#total-limit").inner_text() == eur("10 000,00 €")
    page.get_by_label("New base limit (EUR)").fill("12 000")
    page.locator("#limit-reason").fill("insurer cover raised")
    page.get_by_role("button", name="Set base limit").click()
    assert page.get_by_role("status").first.inner_text() == "Base limit set."
    assert page.locator("#total-limit").inner_text() == eur("12 000,00 €")
    assert "insurer cover raised" in page.locator("#ledger").inner_text()

    # Hold: the same check now answers no with the hold as a reason; then lifted.
    page.locator("#hold-reason").fill("overdue invoices")
    page.get_by_role("button", name="Place a hold").click()
    assert "on hold" in page.locator("h1 + p").inner_text()
    page.get_by_label("Order amount (EUR)").fill("100")
    page.get_by_role("button", name="Check").click()
    assert page.locator("#decision .verdict").inner_text().startswith("No:")
    assert "account_on_hold" in page.locator("#decision").inner_text()
    page.locator("#lift-reason").fill("paid")
    page.get_by_role("button", name="Lift the hold").click()
    assert page.get_by_role("status").first.inner_text() == "Hold lifted."

    # The over-limit listing, and its CSV: amounts as numbers, the formula-like name neutralised.
    page.get_by_role("link", name="Listings").click()
    page.get_by_role("link", name="Over limit").click()
    assert "R-1003" in page.locator("table.data").inner_text()
    assert eur("300,00 €") in page.locator("table.data").inner_text()
    screenshot(page, screenshot_dir, db, "officer-over-limit")
    with page.expect_download() as info:
        page.locator("#csv-download").click()
    csv_text = Path(info.value.path()).read_text()
    assert csv_text.splitlines()[1].startswith("R-1003,\"'=HYPERLINK(")
    assert ",1000.00," not in csv_text and ",500.00,800.00,300.00,EUR" in csv_text

    # A form whose CSRF token is not the session's is refused, and changes nothing.
    page.goto(base + "/console/distributors/actebis/resellers/R-1002")
    page.locator("#limit").fill("99999")
    page.locator("#limit-reason").fill("forged")
    page.eval_on_selector("#limit", "el => el.form.querySelector('[name=csrf]').value = 'forged'")
    page.get_by_role("button", name="Set base limit").click()
    assert page.locator("h1").inner_text() == "Form refused"
    page.goto(base + "/console/distributors/actebis/resellers/R-1002")
    assert page.locator("#total-limit").inner_text() == eur("2 000,00 €")

    # Another distributor's pages and a vendor's are outside this key's scope.
    page.goto(base + "/console/distributors/etc/resellers")
    assert page.locator("h1").inner_text() == "Not in your scope"
    page.goto(base + "/console/vendors/microsoft/programmes")
    assert page.locator("h1").inner_text() == "Not in your scope"

    # Signing out ends the session: the pages ask to sign in again.
    page.goto(base + "/console/distributors/actebis/resellers")
    page.get_by_role("button", name="Sign out").click()
    assert "You are signed out." in page.content()
    page.goto(base + "/console/distributors/actebis/resellers/R-1001")
    assert "/console/sign-in" in page.url
    context.close()


def test_partner_journey_and_refusals(
    browser: Any, console_server: tuple[Server, dict[str, str]], screenshot_dir: Path, request: Any, tmp_path: Path
) -> None:
    server, keys = console_server
    db = request.node.callspec.params["console_server"]
    base = server.base
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # An ERP's key does not open the console; an unknown key neither.
    sign_in(page, base, keys["erp"])
    assert "for an ERP integration" in page.get_by_role("alert").inner_text()
    page.get_by_label("API key").fill("cl_0000000000000000_nope")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Unknown or revoked API key."

    # Microsoft's partner manager: its programmes, then Mezzanine.
    page.get_by_label("API key").fill(keys["partner"])
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/console/vendors/microsoft/programmes")
    assert page.locator(".scope").inner_text() == "Partner manager · Microsoft"
    screenshot(page, screenshot_dir, db, "partner-programmes")
    page.get_by_role("link", name="Microsoft Mezzanine").click()
    assert page.locator("#beneficiaries").inner_text() == "0"

    # Enrolment from a pasted list: an outcome per row.
    page.get_by_label("Paste rows").fill("reseller_id;limit\nR-1001;5 000\nR-1002\nR-9999\nbad id!\nR-1001;100")
    page.get_by_role("button", name="Enrol").click()
    outcomes = [r.inner_text().split("\t")[:3] for r in page.locator("#outcomes tbody tr").all()]
    assert outcomes == [
        ["2", "R-1001", "granted"],
        ["3", "R-1002", "granted"],
        ["4", "R-9999", "unknown reseller"],
        ["5", "bad id!", "invalid row"],
        ["6", "R-1001", "invalid row"],
    ]
    assert page.locator("#beneficiaries").inner_text() == "2"
    assert page.locator("#programme-limit").inner_text() == eur("10 000,00 €")

    # …and from an uploaded file; R-1001 already has its line.
    upload = tmp_path / "enrol.csv"
    upload.write_text("R-1003;2500\nR-1001\n", encoding="utf-8")
    page.get_by_label("…or upload a CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Enrol").click()
    outcomes = [r.inner_text().split("\t")[:3] for r in page.locator("#outcomes tbody tr").all()]
    assert outcomes == [["1", "R-1003", "granted"], ["2", "R-1001", "already granted"]]
    assert page.locator("svg.gauge").count() == 3 and page.locator("svg.series").count() == 2
    assert "3 beneficiaries" in page.locator("#time-title + svg + svg + p").inner_text()
    screenshot(page, screenshot_dir, db, "partner-programme")

    # A partner manager never opens a reseller page.
    page.goto(base + "/console/distributors/actebis/resellers/R-1001")
    assert page.locator("h1").inner_text() == "Not in your scope"
    context.close()

    # The officer of ETC cannot open Actebis.
    other = browser.new_context()
    page = other.new_page()
    sign_in(page, base, keys["officer_etc"], "/console/distributors/actebis/resellers/R-1001")
    assert page.locator("h1").inner_text() == "Not in your scope"
    assert page.locator(".scope").inner_text() == "Credit officer · ETC"
    other.close()


def screenshot(page: Any, directory: Path, db: str, name: str) -> None:
    page.screenshot(path=str(directory / f"{db}-{name}.png"), full_page=True)
