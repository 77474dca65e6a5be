"""`creditlines report ageing`: the same report as the API, as a table, CSV or JSON."""

from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from creditlines import clock, ledger
from creditlines.cli import app
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from tests.factories import eur, make_world


def test_the_ageing_report_from_the_cli(engine, monkeypatch):
    uow = UnitOfWork(engine)
    make_world(uow)
    clock.set_now("2026-03-02T09:00:00+00:00")
    with uow.write() as s:
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id="R-1", name="Late & Co", actor="t")
        ledger.set_base_limit(s, distributor_id="actebis", reseller_id="R-1", limit=eur(5000), reason="t", actor="t")
        ledger.draw(s, distributor_id="actebis", reseller_id="R-1", reference="I-1", amount=eur("1234.50"),
                    invoice_date=date(2026, 1, 1), due_on=date(2026, 1, 31), actor="erp")  # fmt: skip
    monkeypatch.setenv("CREDITLINES_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    runner = CliRunner()
    # 2 March is 30 days after 31 January: 1_30
    out = runner.invoke(app, ["report", "ageing", "-d", "actebis", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["totals"]["1_30"] == {"amount": "1234.50", "currency": "EUR"}
    csv = runner.invoke(app, ["report", "ageing", "-d", "actebis", "--as-of", "2026-03-03", "--format", "csv"])
    assert "reseller,R-1,Late & Co,0.00,0.00,1234.50,0.00,0.00,1234.50" in csv.stdout.splitlines()
    table = runner.invoke(app, ["report", "ageing", "-d", "actebis"])
    assert table.exit_code == 0 and "1234.50" in table.stdout
    bad = runner.invoke(app, ["report", "ageing", "-d", "actebis", "--as-of", "March"])
    assert bad.exit_code == 2 and "validation_error" in bad.output
    get_settings.cache_clear()
