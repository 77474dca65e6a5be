"""The console's ageing listing (SPEC §18): a stacked bar per funder and per reseller, the numbers
in a table, the CSV; officers of the distributor only."""

from __future__ import annotations

from datetime import date
from typing import Any

from creditlines import clock, ledger
from tests.console.test_pages import sign_in
from tests.factories import eur


def test_the_ageing_page_shows_the_buckets_and_its_csv(console: Any) -> None:
    client, keys, uow = console
    with uow.write() as s:
        ledger.draw(s, distributor_id="actebis", reseller_id="R-1001", reference="LATE-1", amount=eur("321.00"),
                    invoice_date=date(2025, 1, 1), due_on=date(2025, 1, 31), actor="erp")  # fmt: skip
    sign_in(client, keys["officer"])
    today = clock.local_today("Europe/Paris")
    page = client.get("/console/distributors/actebis/ageing")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and 'class="seg-over 90"' in page.text and "R-1001" in page.text
    reseller = client.get("/console/distributors/actebis/resellers/R-1001")
    assert 'id="overdue"' in reseller.text and "oldest " in reseller.text
    csv = client.get("/console/distributors/actebis/ageing.csv")
    assert csv.status_code == 200 and f"actebis-ageing-{today}.csv" in csv.headers["content-disposition"]
    assert any(line.startswith("reseller,R-1001,") for line in csv.text.splitlines())
    assert client.get("/console/distributors/actebis/ageing", params={"as_of": "June"}).status_code == 422
    client.cookies.clear()
    sign_in(client, keys["officer_etc"])
    assert client.get("/console/distributors/actebis/ageing").status_code == 403
