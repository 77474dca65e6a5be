"""Held orders in the console (SPEC §16): on the reseller page with a cancel button, and the
distributor's list, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from creditlines import ledger
from tests.console.test_pages import sign_in
from tests.factories import eur

PAGE = "/console/distributors/actebis/resellers/R-1001"


def test_a_held_order_is_listed_and_cancelled_from_the_reseller_page(console: Any) -> None:
    client, keys, uow = console
    with uow.write() as s:
        view, _ = ledger.draw(
            s,
            distributor_id="actebis",
            reseller_id="R-1001",
            reference="SO-HELD-1",
            amount=eur("900000.00"),
            actor="erp",
            on_refusal="hold",
        )
    assert view.status == "held"
    token = sign_in(client, keys["officer"])
    page = client.get(PAGE)
    assert page.status_code == 200 and "SO-HELD-1" in page.text and "insufficient_credit" in page.text

    listing = client.get("/console/distributors/actebis/listings/held-orders")
    assert listing.status_code == 200 and "SO-HELD-1" in listing.text
    csv = client.get("/console/distributors/actebis/listings/held-orders.csv")
    assert csv.text.splitlines()[1].startswith("R-1001,SO-HELD-1,")

    cancelled = client.post(
        PAGE + "/held-orders/cancel", data={"csrf": token, "reference": "SO-HELD-1"}, follow_redirects=False
    )
    assert cancelled.status_code == 303, cancelled.text
    after = client.get(cancelled.headers["location"])
    assert "Held order cancelled." in after.text and "No order is waiting for credit." in after.text
    again = client.post(PAGE + "/held-orders/cancel", data={"csrf": token, "reference": "SO-NONE"})
    assert again.status_code == 404
    with uow.read() as s:
        drawing = ledger.get_drawing(s, distributor_id="actebis", reseller_id="R-1001", reference="SO-HELD-1")
    assert drawing.status == "cancelled"
