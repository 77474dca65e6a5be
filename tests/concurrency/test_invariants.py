"""The invariant checker can fail: each rule reports a violation planted by SQL (or through a
service call that skips the programme's rules), and says nothing about a sound database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork
from creditlines.programmes import enrolment, service
from tests.factories import eur, make_reseller, make_world
from tests.invariants import install_witness, violations

D = "actebis"


def _rules(found: list[str]) -> set[str]:
    return {line.split(": ", 1)[0] for line in found}


def test_every_rule_reports_what_breaks_it(pg_only_engine, pg_admin_url):
    url = pg_only_engine.url.render_as_string(hide_password=False)
    install_witness(pg_admin_url)  # the superuser installs it; the service's role reads it
    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    for r in ("R1", "R2"):
        make_reseller(uow, r, "1000.00")
    with uow.write() as s:
        programme_id = service.create_programme(
            s,
            vendor_id="microsoft",
            distributor_id=D,
            code="mezz",
            name="Mezzanine",
            kind="standing",
            line_limit=eur("500.00"),
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 6, 30),
            max_beneficiaries=1,
            max_total_limit=eur("500.00"),
        )[0].id
        enrolment.enrol(s, vendor_id="microsoft", programme_id=programme_id, resellers=[("R1", None)], actor="t")
        ledger.draw(s, distributor_id=D, reseller_id="R1", reference="SO-1", amount=eur("1200.00"), actor="t")
    now = clock.now()
    assert violations(url, now=now) == []

    with pg_only_engine.begin() as conn:
        conn.execute(text("UPDATE programme SET status = 'closed', closed_at = :at"), {"at": now.replace(tzinfo=None)})
    with uow.write() as s:  # a grant the programme's rules would refuse: closed, budget full, wrong end
        ledger.grant_programme_line(
            s,
            distributor_id=D,
            reseller_id="R2",
            vendor_id="microsoft",
            programme_id=programme_id,
            limit=eur("500.00"),
            valid_until=date(2026, 7, 31),
            actor="t",
        )
        ledger.grant_programme_line(
            s,
            distributor_id=D,
            reseller_id="R1",
            vendor_id="microsoft",
            programme_id=programme_id,
            limit=eur("100.00"),
            valid_until=date(2026, 6, 30),
            actor="t",
        )
    with pg_only_engine.begin() as conn:
        conn.execute(text("UPDATE programme SET closed_at = closed_at - interval '1 minute'"))
        conn.execute(
            text(
                "UPDATE allocation SET outstanding_minor = outstanding_minor - 1"
                " WHERE drawing_reference = 'SO-1' AND position = 0"
            )
        )

    assert _rules(violations(url, now=now)) == {
        "budget (beneficiaries)",
        "budget (total limit)",
        "standing line ends on its programme's ends_on",
        "one active line per reseller and programme",
        "nothing granted after a close",
        "allocations add up to their drawing",
        "allocations add up to their line",
        "nothing granted in a closed programme (witness)",
        "standing line granted to the programme's ends_on (witness)",
    }
    assert violations(url, now=now, distributor_id="elsewhere") == []
