"""The console's story (tests/console/story.py) with Actebis' credit decisions switched on:

* the book (story.py) loaded 40 days before today, so that raises are measured from today's limits;
* four eyes: a raise of more than EUR 5,000 waits for a second officer (officers A and B);
* insurer cover capping base limits at cover + EUR 2,000 discretionary; at onboarding, on
  1 February, Coface covered Bureau Vallée Lyon (R-1001) for 20,000, Dupont Lille (R-1002) for
  3,000 and R-1003 for 1,000 — every limit stands under its cap;
* HP (a vendor of the story already, not admitted) admitted at Actebis on the condition that
  Actebis approves each reseller HP enrols in its programme HP Boost (lines of up to EUR 3,000)."""

from __future__ import annotations

from datetime import date, timedelta

from creditlines import clock
from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import insurance, policy
from creditlines.partnerships import service as partnerships
from creditlines.programmes import service as programmes
from tests.console import story
from tests.factories import eur


def load(uow: UnitOfWork) -> dict[str, str]:
    today = clock.now()
    clock.set_now(today - timedelta(days=40))  # the book opened before the four-eyes window (SPEC §23)
    try:
        keys = story.load(uow)
    finally:
        clock.set_now(today)
    with uow.write() as s:
        partnerships.admit(
            s,
            distributor_id="actebis",
            vendor_id="hp",
            max_line_limit=None,
            requires_approval=True,
            note=None,
            actor="test",
        )
        programmes.create_programme(
            s,
            vendor_id="hp",
            distributor_id="actebis",
            code="boost",
            name="HP Boost",
            kind="standing",
            line_limit=eur("3000"),
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 6, 30),
            max_beneficiaries=50,
            max_total_limit=eur("100000"),
        )
        policy.update(
            s,
            distributor_id="actebis",
            actor="test",
            approval_threshold=eur("5000"),
            base_cap_policy="cover_plus_discretionary",
            discretionary=eur("2000"),
        )
        insurance.import_covers(
            s,
            distributor_id="actebis",
            decided_on=date(2026, 2, 1),
            actor="onboarding",
            rows=[
                ("R-1001", "Coface", eur("20000")),
                ("R-1002", "Coface", eur("3000")),
                ("R-1003", "Coface", eur("1000")),
            ],
        )
        keys["officer_b"] = auth.create_key(s, role="credit_officer", distributor_id="actebis")[1]
        keys["partner_hp"] = auth.create_key(s, role="partner_manager", vendor_id="hp")[1]
    return keys
