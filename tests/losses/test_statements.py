"""A funder's monthly statements (SPEC §21): the arithmetic that closes, byte-identical answers,
the digest chain, and `creditlines statements verify` finding one altered ledger entry."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import text

from creditlines import clock, ledger
from creditlines.decisions import insurance
from creditlines.errors import NotFound, PeriodNotClosed
from creditlines.losses import defaults, statement_chain, statements, writeoffs
from tests.factories import eur, make_reseller, make_world


def story(uow) -> None:
    """R-2 draws 13,000 on 2 March (base 10,000, Microsoft's Mezzanine 3,000) and pays 1,000 on
    16 March (freed from Mezzanine first); it defaults on 10 April and everything is written off."""
    make_world(uow)
    make_reseller(uow, "R-2", "10000.00")
    with uow.write() as s:
        insurance.set_cover(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            insurer="Coface",
            cover=eur("8000.00"),
            decided_on=date(2026, 3, 2),
            reference=None,
            actor="k1",
        )
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("5000.00"),
            valid_until=date(2026, 6, 30),
            on_expiry="run_off",
            actor="pm",
        )
        ledger.draw(s, distributor_id="actebis", reseller_id="R-2", reference="SO-1", amount=eur("13000.00"), actor="e")
    clock.set_now("2026-03-16T09:00:00+00:00")
    with uow.write() as s:
        ledger.release(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            drawing_reference="SO-1",
            reference="P-1",
            amount=eur("1000.00"),
            kind="payment",
            actor="e",
        )
    clock.set_now("2026-04-10T09:00:00+00:00")
    with uow.write() as s:
        defaults.declare(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            reason="insolvency",
            declared_on=date(2026, 4, 10),
            actor="k1",
        )
        writeoffs.write_off(
            s,
            distributor_id="actebis",
            reseller_id="R-2",
            reference="WO-1",
            reason="liquidation",
            drawings=None,
            actor="k1",
        )
    clock.set_now("2026-05-04T09:00:00+00:00")


def _line(document) -> dict:
    [line] = [r for r in document["resellers"] if r["reseller_id"] == "R-2"]
    return line


def test_microsofts_statements_close_chain_and_answer_the_same_bytes(uow):
    story(uow)
    with uow.snapshot() as s:
        march, april = statements.statements(s, distributor_id="actebis", funder="microsoft", through="2026-04")
        again = statements.statement(s, distributor_id="actebis", funder="microsoft", period="2026-04")
        with pytest.raises(PeriodNotClosed):
            statements.statement(s, distributor_id="actebis", funder="microsoft", period="2026-05")
        with pytest.raises(NotFound):
            statements.statement(s, distributor_id="actebis", funder="microsoft", period="2026-02")
        base_april = statements.statement(s, distributor_id="actebis", funder="actebis", period="2026-04")
    assert {k: v for k, v in _line(march).items() if k != "reseller_id"} == {
        "opening_drawn": "0.00",
        "drawn": "3000.00",
        "released": "1000.00",
        "transferred": "0.00",
        "written_off": "0.00",
        "closing_drawn": "2000.00",
        "lines_granted": 1,
        "lines_extended": 0,
        "lines_expired": 0,
        "lines_revoked": 0,
        "claims_opened": 0,
        "claims_opened_amount": "0.00",
    }
    assert (
        _line(april)["opening_drawn"],
        _line(april)["written_off"],
        _line(april)["closing_drawn"],
        _line(april)["lines_revoked"],
        _line(april)["claims_opened"],
        _line(april)["claims_opened_amount"],
    ) == ("2000.00", "2000.00", "0.00", 1, 1, "2000.00")
    assert (march["previous_digest"], april["previous_digest"]) == (None, march["digest"])
    body = statements.canonical(april)
    assert body == statements.canonical(again)  # byte-identical
    without = json.loads(body)
    del without["digest"]
    recomputed = hashlib.sha256(
        json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert recomputed == april["digest"]
    # The distributor's own statement for April: the base wrote off 10,000; Coface is claimed 7,200.
    base = _line(base_april)
    assert (base["opening_drawn"], base["written_off"], base["closing_drawn"], base["claims_opened_amount"]) == (
        "10000.00",
        "10000.00",
        "0.00",
        "7200.00",
    )


def _bypass(s) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("alter table ledger_entry disable trigger user"))
    else:
        s.execute(text("drop trigger ledger_entry_no_update"))


def test_the_chain_breaks_when_one_ledger_entry_is_altered(uow, owner_engine):
    from creditlines.db.engine import UnitOfWork

    story(uow)
    with uow.write() as s:
        issued = statements.statements(s, distributor_id="actebis", funder="microsoft", through="2026-04")
        statement_chain.record(s, issued)
    with uow.snapshot() as s:
        assert statement_chain.verify(s, distributor_id="actebis", funder="microsoft") == (2, [])
    env = {**os.environ, "CREDITLINES_DATABASE_URL": uow.engine.url.render_as_string(hide_password=False)}
    command = [sys.executable, "-m", "creditlines", "statements", "verify", "-d", "actebis", "-f", "microsoft"]
    assert subprocess.run(command, capture_output=True, text=True, env=env).returncode == 0

    # One entry altered: Microsoft's 1,000 payment of 16 March becomes 900.
    owner = UnitOfWork(owner_engine)
    with owner.write() as s:
        _bypass(s)
        s.execute(
            text(
                "update ledger_entry set drawn_delta_minor = -90000 where kind = 'release_applied'"
                " and line_id in (select id from line where funder = 'microsoft')"
            )
        )
        if s.get_bind().dialect.name == "postgresql":  # committed: the triggers back on for the next tests
            s.execute(text("alter table ledger_entry enable trigger user"))
    if owner.read_engine is not None:
        owner.read_engine.dispose()
    with uow.snapshot() as s:
        months, problems = statement_chain.verify(s, distributor_id="actebis", funder="microsoft")
    assert months == 2
    assert [p.split(":")[0] for p in problems] == ["2026-03", "2026-04", "2026-04"]  # its digest, then the link
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "DIFFERENCE" in result.stderr
