"""Paper cuts a new user met in the console (issue 20), each as the page shows it now."""

from __future__ import annotations

from datetime import date
from typing import Any

from console import charts
from creditlines import ledger
from creditlines.programmes import enrolment
from creditlines.programmes import service as programmes
from tests.console.test_decision_pages import text_of
from tests.console.test_pages import sign_in
from tests.factories import eur

D = "/console/distributors/actebis"


def test_an_empty_programme_shows_an_empty_gauge_not_a_full_red_one(console: Any) -> None:
    """Mezzanine has no line: drawn 0 of 0 is 0 %, not "(100%)" in red."""
    gauge = str(charts.gauge("Drawn on the lines", 0, 0, "0,00 €", "0,00 €"))
    assert "(0%)" in gauge and charts.OVER not in gauge
    assert "(100%)" in str(charts.gauge("Drawn on the lines", 5, 0, "0,05 €", "0,00 €"))  # something of nothing
    client, keys, _ = console
    sign_in(client, keys["partner"])
    page = text_of(client.get("/console/vendors/microsoft/programmes/mezzanine@actebis").text)
    assert "Drawn on the lines: 0,00 € of 0,00 € (0%)" in page and "(100%)" not in page


def test_the_ledger_writes_dates_as_the_lines_do(console: Any) -> None:
    client, keys, _ = console
    sign_in(client, keys["officer"])
    page = text_of(client.get(f"{D}/resellers/R-1001").text)
    assert "2 mars 2026 10:00" in page and "02/03/2026" not in page


def test_a_terminated_reseller_shows_nothing_available(console: Any) -> None:
    """Dupont Lille (R-1002, limit 2,000, nothing drawn) is terminated: the list says 0 and why."""
    client, keys, uow = console
    with uow.write() as s:
        ledger.terminate(s, distributor_id="actebis", reseller_id="R-1002", reason="closed", actor="test")
    sign_in(client, keys["officer"])
    page = text_of(client.get(f"{D}/resellers", params={"q": "R-1002"}).text)
    row = "R-1002 Informatique Dupont Lille terminated 2 000,00 € 0,00 € 0,00 € (terminated)"  # limit, drawn, available
    assert row in page


def test_the_listings_page_shows_the_days_figures(console: Any) -> None:
    """R-1003 drew 800 on a line cut to 500: one reseller over limit, by 300. A spring programme
    ends on 31 March: 3,000 of vendor credit (500 drawn) end this month."""
    client, keys, uow = console
    with uow.write() as s:
        programmes.create_programme(
            s,
            vendor_id="microsoft",
            distributor_id="actebis",
            code="spring",
            name="Spring",
            kind="standing",
            line_limit=eur("3000"),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 31),
            max_beneficiaries=10,
            max_total_limit=eur("30000"),
        )
        enrolment.enrol(
            s, vendor_id="microsoft", programme_id="spring@actebis", resellers=[("R-1001", None)], actor="t"
        )
        ledger.draw(s, distributor_id="actebis", reseller_id="R-1001", reference="SO-9", amount=eur("8000"), actor="t")
    sign_in(client, keys["officer"])
    page = text_of(client.get(f"{D}/listings").text)
    assert "1 reseller over limit, by 300,00 € in all." in page
    assert "3 000,00 € of vendor credit on 1 line ending by 31 mars 2026" in page
