"""The demo's insurer story (SPEC §12): why Mezzanine exists.

Actebis caps every base limit at the insurer's cover plus EUR 2,000 of its own
(``cover_plus_discretionary``). At onboarding each active Actebis reseller with a line is
covered for its limit less those 2,000; a few weeks later a wave of cuts by the credit insurers
hits one in two (cover down to 30–60 %), and their lines fall with it
(``insurer_cut``). Microsoft then chooses its Mezzanine beneficiaries among the resellers cut:
the cover-cuts report is the list Actebis shares with it.

Everything goes through ``creditlines.decisions`` with the clock moved, as the rest of the demo.
"""

from __future__ import annotations

import random
from datetime import datetime

from moneyed import Money
from rich.console import Console

from creditlines import clock
from creditlines.db.engine import UnitOfWork
from creditlines.decisions import insurance, policy
from creditlines.ledger import repository as ledger_repo
from creditlines.money import from_minor

DISCRETIONARY = Money("2000.00", "EUR")
INSURERS = ("Allianz Trade", "Coface", "Atradius")
ACTOR = "demo:credit-officer"
WAVE_SHARE = 0.5  # of the covered resellers: ~1,200, among whom Mezzanine's 900–1,000 beneficiaries


def insurer_wave(
    uow: UnitOfWork, seed: int, resellers: list[str], onboarding: datetime, wave: datetime, progress: Console
) -> list[str]:
    """Record the covers at ``onboarding`` and the wave of cuts at ``wave``; the resellers cut."""
    rng = random.Random(f"insurers-{seed}")
    covered: list[tuple[str, str, int]] = []
    with clock.frozen(onboarding), progress.status("Actebis records its resellers' insurer cover"), uow.write() as s:
        policy.update(
            s,
            distributor_id="actebis",
            actor=ACTOR,
            base_cap_policy="cover_plus_discretionary",
            discretionary=DISCRETIONARY,
        )
        day = clock.local_today("Europe/Paris")
        lines = ledger_repo.lines_of_many(s, "actebis", resellers)
        limits = {line.reseller_id: line.limit_minor for line in lines if line.kind == "base"}
        active = {r.id for r in _resellers(s, resellers) if r.status == "active"}
        for reseller_id in resellers:
            limit = limits.get(reseller_id, 0)
            if reseller_id in active and limit > 200_000:
                covered.append((reseller_id, rng.choice(INSURERS), limit - 200_000))
        insurance.import_covers(
            s,
            distributor_id="actebis",
            decided_on=day,
            actor=ACTOR,
            rows=[(r, insurer, from_minor(cover, "EUR")) for r, insurer, cover in covered],
        )
    cut: list[str] = []
    with clock.frozen(wave), progress.status("credit insurers cut their cover on Actebis resellers"), uow.write() as s:
        day = clock.local_today("Europe/Paris")
        for reseller_id, insurer, cover in covered:
            if rng.random() >= WAVE_SHARE:
                continue
            new_cover = cover * rng.choice((30, 40, 50, 60)) // 100 // 100 * 100  # whole euros
            insurance.set_cover(
                s,
                distributor_id="actebis",
                reseller_id=reseller_id,
                insurer=insurer,
                cover=from_minor(new_cover, "EUR"),
                decided_on=day,
                reference=f"{insurer[:2].upper()}-{day:%Y%m}-{reseller_id}",
                actor=ACTOR,
            )
            cut.append(reseller_id)
    return cut


def _resellers(s, ids: list[str]):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from creditlines.ledger.models import Reseller

    return s.scalars(select(Reseller).where(Reseller.distributor_id == "actebis", Reseller.id.in_(ids))).all()
