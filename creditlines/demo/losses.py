"""The demo's loss story (SPEC §19–§21): who bears the loss when Actebis resellers fail.

* Coface announces a second wave of cuts at Actebis with 30 days' notice (scheduled cuts,
  ``insurance.cut_scheduled``); before the date Microsoft enrols some of those resellers in
  Mezzanine; on the date the nightly step lowers their base limits (``insurer_cut``).
* Two resellers default. One had drawn mostly on Microsoft's Mezzanine line (a run-off line:
  Microsoft's guarantee survives the termination), the other on its base line, shipped before its
  cover was cut: it keeps its insured share. Both are written off; the claims go to Microsoft and
  to the insurers; some are settled.
* The funders' statements of the closed months are issued (their digests recorded), so that
  ``creditlines statements verify`` has a chain to check.

The story's resellers are kept out of the random order history (their ledgers stay in time
order); everything goes through the services with the clock moved, as the rest of the demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from moneyed import Money
from rich.console import Console
from sqlalchemy import select

from creditlines import clock, ledger
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import insurance, policy
from creditlines.decisions.models import InsuranceCover
from creditlines.errors import CreditLinesError
from creditlines.ledger import repository as ledger_repo
from creditlines.losses import claims, defaults, statement_chain, statements, writeoffs
from creditlines.money import from_minor
from creditlines.programmes import enrolment

OFFICER = "demo:credit-officer"
WAVE = 30  # Coface's scheduled cuts
NOTICE = timedelta(days=30)


@dataclass(frozen=True)
class Story:
    wave: list[str]  # Coface-covered resellers whose cut is scheduled
    on_mezzanine: str  # defaults with most of its debt on Mezzanine
    on_base: str  # defaults with its debt on the base line, shipped before its cover was cut

    @property
    def resellers(self) -> set[str]:
        return {*self.wave, self.on_mezzanine, self.on_base}


def choose(uow: UnitOfWork, seed: int, cut: list[str], mezzanine_granted: list[str]) -> Story:
    """The resellers of the story (before the order history, which leaves them alone)."""
    rng = random.Random(f"losses-{seed}")
    with uow.read() as s:
        coface = sorted(
            set(
                s.scalars(
                    select(InsuranceCover.reseller_id).where(
                        InsuranceCover.distributor_id == "actebis",
                        InsuranceCover.insurer == "Coface",
                        InsuranceCover.cover_minor >= 800_000,
                    )
                )
            )
            - set(cut)
        )
    wave = rng.sample(coface, min(WAVE, len(coface)))
    on_mezzanine = rng.choice(sorted(set(mezzanine_granted) - set(wave)))
    return Story(wave=sorted(wave[1:]), on_mezzanine=on_mezzanine, on_base=wave[0])


def play(uow: UnitOfWork, story: Story, start: datetime, mezzanine_id: str, progress: Console) -> dict[str, int]:
    """The story, from ``start`` (the demo's first day) over the following three months."""
    announced = start + timedelta(days=40)
    counts = {"scheduled": 0, "nominated": 0, "cut": 0, "claims": 0, "settled": 0}
    with clock.frozen(start + timedelta(days=38)), uow.write() as s:
        # Shipped before the cut is announced: 6,000 on the base line of a Coface-covered reseller.
        ledger.draw(
            s,
            distributor_id="actebis",
            reseller_id=story.on_base,
            reference="SO-L-1",
            amount=_eur(6000),
            actor="demo:erp",
        )
        # Mostly on Mezzanine: the base held to 500 by the desk, the rest on Microsoft's line.
        lines = ledger_repo.lines_of(s, "actebis", story.on_mezzanine)
        mezz = next(line for line in lines if line.kind == "programme" and line.status == "active")
        ledger.set_base_limit(
            s,
            distributor_id="actebis",
            reseller_id=story.on_mezzanine,
            limit=_eur(500),
            reason="risk review",
            actor=OFFICER,
        )
        ledger.draw(
            s,
            distributor_id="actebis",
            reseller_id=story.on_mezzanine,
            reference="SO-L-2",
            amount=from_minor(50_000 + mezz.limit_minor - mezz.drawn_minor, "EUR"),
            actor="demo:erp",
        )
    with clock.frozen(announced), progress.status("Coface schedules cuts with 30 days' notice"), uow.write() as s:
        day = clock.local_today("Europe/Paris")
        for reseller_id in [story.on_base, *story.wave]:
            cover = policy.current_cover(s, "actebis", reseller_id)
            assert cover is not None
            insurance.set_cover(
                s,
                distributor_id="actebis",
                reseller_id=reseller_id,
                insurer="Coface",
                cover=from_minor(cover.cover_minor // 4 // 100 * 100, "EUR"),
                decided_on=day,
                effective_on=day + NOTICE,
                reference=f"CO-{day:%Y%m}-{reseller_id}",
                actor=OFFICER,
            )
            counts["scheduled"] += 1
    with clock.frozen(announced + timedelta(days=10)), uow.write() as s:
        # Microsoft steps in before the date for a third of them (what the programme's budget allows).
        try:
            results = enrolment.enrol(
                s,
                vendor_id="microsoft",
                programme_id=mezzanine_id,
                resellers=[(r, _eur(5000)) for r in story.wave[::3]],
                actor="demo:partner-manager",
            )
            counts["nominated"] = sum(r.outcome == "granted" for r in results)
        except CreditLinesError:
            pass
    with clock.frozen(announced + NOTICE + timedelta(hours=2)), uow.write() as s:
        counts["cut"] = len(
            insurance.apply_due_cuts(s, distributor_id="actebis", day=clock.local_today("Europe/Paris"), actor="job")
        )
    with clock.frozen(start + timedelta(days=85)), progress.status("two resellers default"), uow.write() as s:
        day = clock.local_today("Europe/Paris")
        for reseller_id, reason in ((story.on_mezzanine, "insolvency"), (story.on_base, "receivership")):
            defaults.declare(
                s, distributor_id="actebis", reseller_id=reseller_id, reason=reason, declared_on=day, actor=OFFICER
            )
    with clock.frozen(start + timedelta(days=88)), uow.write() as s:
        for reseller_id in (story.on_mezzanine, story.on_base):
            view, _ = writeoffs.write_off(
                s,
                distributor_id="actebis",
                reseller_id=reseller_id,
                reference=f"WO-{reseller_id}",
                reason="liquidation: nothing to recover",
                drawings=None,
                actor=OFFICER,
            )
            counts["claims"] += len(view.claims)
    with clock.frozen(start + timedelta(days=100)), uow.write() as s:
        for claim in claims.list_claims(s, distributor_id="actebis"):
            if claim.funder_kind == "vendor" or claim.reseller_id == story.on_base:
                claims.settle(
                    s,
                    distributor_id="actebis",
                    claim_id=claim.id,
                    status="paid",
                    amount_paid=None,
                    reference=f"REMIT-{claim.funder[:3].upper()}-{claim.reseller_id}",
                    actor=OFFICER,
                )
                counts["settled"] += 1
    return counts


def issue_statements(uow: UnitOfWork, funders: tuple[str, ...] = ("microsoft",)) -> int:
    """Issue every closed month's statement of ``funders`` at Actebis (the digests recorded)."""
    issued = 0
    with uow.write() as s:
        period = statement_chain.last_closed_period(s, "actebis")
        for funder in funders:
            try:
                chain = statements.statements(s, distributor_id="actebis", funder=funder, through=period)
            except CreditLinesError:
                continue
            statement_chain.record(s, chain)
            issued += len(chain)
    return issued


def _eur(amount: int) -> Money:
    return Money(f"{amount}.00", "EUR")
