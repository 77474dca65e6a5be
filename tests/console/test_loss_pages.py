"""The console's losses, without a browser, on SQLite and PostgreSQL (SPEC §20, §21): a reseller
in default shows its write-off and claims, the desk's claims page, and Microsoft's partner manager
sees its own claims and downloads its statement (the API's bytes)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from creditlines import clock, ledger
from creditlines.losses import defaults, writeoffs
from tests.console.test_decision_pages import text_of
from tests.console.test_pages import sign_in
from tests.factories import eur

D = "/console/distributors/actebis"


def _default_r1002(uow) -> None:
    """R-1002 (base 2,000) draws 3,500: 2,000 on its base, 1,500 on Microsoft's run-off line; it
    defaults and everything is written off: Microsoft is claimed 1,500, Actebis loses 2,000."""
    with uow.write() as s:
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-1002",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("5000"),
            valid_until=date(2026, 6, 30),
            on_expiry="run_off",
            actor="test",
        )
        ledger.draw(s, distributor_id="actebis", reseller_id="R-1002", reference="SO-9", amount=eur("3500"), actor="t")
        defaults.declare(
            s,
            distributor_id="actebis",
            reseller_id="R-1002",
            reason="insolvency",
            declared_on=date(2026, 3, 2),
            actor="t",
        )
        writeoffs.write_off(
            s,
            distributor_id="actebis",
            reseller_id="R-1002",
            reference="WO-9",
            reason="liquidation",
            drawings=None,
            actor="t",
        )


def test_the_loss_pages(console: Any) -> None:
    client, keys, uow = console
    _default_r1002(uow)
    sign_in(client, keys["officer"])
    page = text_of(client.get(f"{D}/resellers/R-1002").text)
    assert "In default" in page and "Write-off WO-9" in page
    assert "microsoft (vendor)" in page and "1 500,00 €" in page and "2 000,00 €" in page
    assert "In default" not in text_of(client.get(f"{D}/resellers/R-1001").text)
    claims = text_of(client.get(f"{D}/claims").text)
    assert "R-1002" in claims and "1 500,00 €" in claims
    assert client.get("/console/vendors/microsoft/claims").status_code == 403

    partner = client  # the same browser, signed in again as Microsoft's partner manager, in April
    client.cookies.clear()
    clock.set_now("2026-04-02T09:00:00+00:00")
    sign_in(partner, keys["partner"])
    mine = text_of(partner.get("/console/vendors/microsoft/claims").text)
    assert "actebis" in mine and "1 500,00 €" in mine and "Monthly statements" in mine
    assert partner.get(f"{D}/claims").status_code == 403
    download = partner.get("/console/vendors/microsoft/statements/actebis/2026-03.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    document = json.loads(download.content)
    without = {k: v for k, v in document.items() if k != "digest"}
    body = json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert hashlib.sha256(body).hexdigest() == document["digest"] and document["previous_digest"] is None
    assert [(r["reseller_id"], r["written_off"]) for r in document["resellers"]] == [("R-1002", "1500.00")]
    assert partner.get("/console/vendors/microsoft/statements/actebis/2026-03.csv").text.startswith("reseller_id,")
