"""An operator watches Actebis breathe (`creditlines events tail`) and runs the sender on its own
(`creditlines deliver`)."""

from __future__ import annotations

from typer.testing import CliRunner

from creditlines import ledger
from creditlines.cli import app
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from tests.factories import eur, make_reseller, make_world


def test_tail_prints_the_feed_with_amounts_for_people(engine, monkeypatch):
    uow = UnitOfWork(engine)
    make_world(uow)
    make_reseller(uow, "R-1001", "10000.00")
    with uow.write() as s:
        ledger.draw(
            s, distributor_id="actebis", reseller_id="R-1001", reference="FA-1", amount=eur("7500.00"), actor="erp"
        )
    monkeypatch.setenv("CREDITLINES_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    if uow.read_engine is not None:
        uow.read_engine.dispose()
    get_settings.cache_clear()
    runner = CliRunner()
    shown = runner.invoke(app, ["events", "tail", "--distributor", "actebis", "--from-start", "--once"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [
        "reseller.created",
        "limit.changed",
        "drawing.created",
        "reseller.utilisation_crossed",
    ]
    assert "7\u202f500,00\xa0€" in lines[2] and "actebis 7\u202f500,00\xa0€" in lines[2] and "R-1001" in lines[2]
    assert "threshold=70" in lines[3]
    # Without --from-start it shows only what comes next: nothing yet.
    assert runner.invoke(app, ["events", "tail", "-d", "actebis", "--once"]).stdout == ""
    assert runner.invoke(app, ["events", "tail", "--once"]).exit_code == 2
    delivered = runner.invoke(app, ["deliver", "--once"])  # no endpoint subscribed: nothing to send
    assert delivered.exit_code == 0 and "0 event(s) delivered" in delivered.stdout
    get_settings.cache_clear()
