"""The credit desk decides limit requests and records insurer cover from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from creditlines.auth.service import Principal
from creditlines.cli import app
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import limit_requests, policy
from tests.factories import eur, make_reseller, make_world


def test_requests_and_insurance_from_the_cli(engine, monkeypatch):
    uow = UnitOfWork(engine)
    make_world(uow)
    make_reseller(uow, "R-1", "10000.00")
    asker = Principal(key_id="k-asker", role="credit_officer", distributor_id="actebis")
    with uow.write() as s:
        policy.update(
            s,
            distributor_id="actebis",
            actor="test",
            approval_threshold=eur("1000.00"),
            base_cap_policy="cover_plus_discretionary",
            discretionary=eur("30000.00"),
        )
        first = limit_requests.set_or_request(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            limit=eur("25000.00"),
            reason="new store",
            actor=asker.actor,
            key_id=asker.key_id,
        )
        second = limit_requests.set_or_request(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            limit=eur("20000.00"),
            reason="again",
            actor=asker.actor,
            key_id=asker.key_id,
        )
        assert first is not None and second is not None
        ids = first.id, second.id
    monkeypatch.setenv("CREDITLINES_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(app, list(args))

    listed = cli("requests", "list", "-d", "actebis")
    assert listed.exit_code == 0 and ids[0] in listed.stdout and "25\u202f000,00\xa0€" in listed.stdout
    approved = cli(
        "requests",
        "approve",
        ids[0],
        "-d",
        "actebis",
        "--officer",
        "marie",
        "--limit",
        "18000.00",
        "--reason",
        "cover allows 18k",
    )
    assert approved.exit_code == 0, approved.output
    assert "approved at 18\u202f000,00\xa0€" in approved.stdout
    again = cli("requests", "reject", ids[0], "-d", "actebis", "--officer", "paul", "--reason", "late")
    assert again.exit_code == 2 and "already_decided" in again.output
    # The approval changed the limit: the other raise, asked from 10,000, was superseded by it.
    stale = cli("requests", "reject", ids[1], "-d", "actebis", "--officer", "paul", "--reason", "no")
    assert stale.exit_code == 2 and "limit_changed" in stale.output

    cut = cli(
        "insurance",
        "set",
        "-d",
        "actebis",
        "-r",
        "R-1",
        "--insurer",
        "Coface",
        "--cover",
        "0",
        "--decided-on",
        "2026-03-01",
        "--reference",
        "CF-9",
    )
    assert cut.exit_code == 0, cut.output
    assert "cut from 18\u202f000,00\xa0€ to 30\u202f000,00" not in cut.stdout  # cap 30,000: no cut
    bad = cli(
        "insurance",
        "set",
        "-d",
        "actebis",
        "-r",
        "R-1",
        "--insurer",
        "Coface",
        "--cover",
        "1",
        "--decided-on",
        "1 March",
    )
    assert bad.exit_code == 2
    with uow.write() as s:
        policy.update(s, distributor_id="actebis", actor="test", discretionary=eur("5000.00"))
    cut = cli(
        "insurance",
        "set",
        "-d",
        "actebis",
        "-r",
        "R-1",
        "--insurer",
        "Coface",
        "--cover",
        "0.00",
        "--decided-on",
        "2026-03-02",
    )
    assert cut.exit_code == 0 and "cut from 18\u202f000,00\xa0€ to 5\u202f000,00\xa0€ (insurer_cut)" in cut.stdout
    get_settings.cache_clear()
