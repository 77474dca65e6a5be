"""The field scenario: four French distributors, Microsoft and HP, 10,000 resellers,
Mezzanine at Actebis, the Office OEM programme at ETC, and months of orders and payments.

Tenants, keys, resellers, the insurer wave, the programmes, the orders, payments and purchase
events go through the real services with the clock moved through the past months, so the ledger,
the balances and `verify` are what production would hold. One exception: the settled history of
``--size large`` (and ``smoke-large``) is inserted in bulk by ``_settled_history``, past the
services: the same drawing, allocation, release and ledger-entry rows ``draw`` and ``release``
write (``verify`` agrees), but no outbox events (no ``drawing.created`` / ``drawing.settled`` in
the feeds or webhooks for those orders) and no alerts.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta
from typing import Any

from moneyed import Money
from rich.console import Console
from sqlalchemy import func, select

from creditlines import clock, ledger
from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from creditlines.demo import financing as demo_financing
from creditlines.demo import insurance as demo_insurance
from creditlines.demo import losses as demo_losses
from creditlines.demo.history import Stats, history, settled_history
from creditlines.demo.keys import keys_file, write_private
from creditlines.jobs import overdue
from creditlines.ledger import terms
from creditlines.ledger.models import Reseller
from creditlines.partnerships import service as partnerships
from creditlines.programmes import enrolment
from creditlines.programmes import service as programmes
from creditlines.tenants import service as tenants

DISTRIBUTORS = [
    ("actebis", "Actebis", 0.30),
    ("etc", "ETC", 0.25),
    ("techdata", "Tech Data", 0.25),
    ("ingram", "Ingram Micro", 0.20),
]
VENDORS = [("microsoft", "Microsoft"), ("hp", "HP")]
ACTEBIS_STOP = terms.OverdueStop(after_days=60, min_minor=50_000)  # EUR 500.00
PARTNERSHIPS = [
    ("actebis", "microsoft", Money("5000.00", "EUR"), "Mezzanine agreement"),
    ("etc", "microsoft", None, "Office OEM booster"),
    ("techdata", "hp", None, None),
]
SIZES = {
    "default": {"resellers": 10_000, "orders": 6_000},
    # large: the default story, preceded by ~240,000 settled orders (~1,000,000 ledger entries)
    "large": {"resellers": 10_000, "orders": 6_000, "settled": 240_000},
    "smoke": {"resellers": 400, "orders": 300},  # for the test suite
    "smoke-large": {"resellers": 400, "orders": 300, "settled": 3_000},  # the large path, for the test suite
}
HISTORY_DAYS = 120
TOWNS = [
    "Lyon",
    "Lille",
    "Nantes",
    "Rennes",
    "Bordeaux",
    "Toulouse",
    "Nice",
    "Grenoble",
    "Dijon",
    "Metz",
    "Brest",
    "Angers",
    "Reims",
    "Tours",
    "Caen",
    "Rouen",
    "Limoges",
    "Pau",
    "Nancy",
    "Amiens",
]
WORDS = [
    "Informatique",
    "Micro",
    "Systèmes",
    "Réseaux",
    "Bureautique",
    "Solutions",
    "Services",
    "Digital",
    "Data",
    "Conseil",
]
OWNERS = ["Dupont", "Martin", "Bernard", "Moreau", "Laurent", "Girard", "Roux", "Fournier", "Morel", "Lefebvre"]


def coming_30_june(today: date) -> date:
    june = date(today.year, 6, 30)
    return june if june >= today else date(today.year + 1, 6, 30)


def load(
    uow: UnitOfWork, *, size: str, if_empty: bool, seed: int, database_url: str, progress: Console
) -> dict[str, Any]:
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    path = keys_file(database_url)
    with uow.read() as s:
        existing = s.scalar(select(func.count()).select_from(Reseller))
    if existing:
        if if_empty:
            progress.print(f"[dim]demo data already loaded ({existing} resellers): nothing to do[/dim]")
            return json.loads(path.read_text()) if path.exists() else {}
        raise SystemExit("the database already holds data: the demo loads into an empty database")
    rng = random.Random(seed)
    real_now = clock.now()
    today = real_now.date()
    start = real_now - timedelta(days=HISTORY_DAYS + 30)
    stats = Stats()
    spec = SIZES[size]

    with progress.status("creating distributors, vendors and keys"):
        keys = _tenants_and_keys(uow)
    with clock.frozen(start), progress.status(f"creating {spec['resellers']:,} resellers"):
        by_distributor = _resellers(uow, rng, spec["resellers"], stats)
    if spec.get("settled"):
        settled_history(
            uow, rng, start + timedelta(hours=1), start + timedelta(days=19), spec["settled"], stats, progress
        )
    cut = demo_insurance.insurer_wave(uow, seed, by_distributor["actebis"], start, start + timedelta(days=15), progress)
    mezzanine_start = (start + timedelta(days=20)).date()
    with clock.frozen(start + timedelta(days=20)), progress.status("Microsoft sets up Mezzanine at Actebis"):
        mezz = _mezzanine(uow, rng, cut, mezzanine_start, coming_30_june(today), stats)
    with clock.frozen(start + timedelta(days=10)):
        oem = _oem_programme(uow, (start + timedelta(days=10)).date(), today)
    financed = demo_financing.microsoft_financing(
        uow,
        seed,
        by_distributor["actebis"],
        start + timedelta(days=21),
        start + timedelta(days=29),
        progress,
        count=max(12, spec["resellers"] // 250),
    )
    story = demo_losses.choose(uow, seed, cut, mezz["granted"])
    in_history = {d: [r for r in rs if r not in story.resellers] for d, rs in by_distributor.items()}
    history(uow, rng, in_history, start + timedelta(days=30), real_now, spec["orders"], stats, progress)
    for did, _, _ in DISTRIBUTORS:  # the nightly job's part: announce the stops that hold today
        stops, _ = overdue.run_overdue_stops(uow, distributor_id=did, day=clock.local_today("Europe/Paris"))
        stats.stops += stops
    losses = demo_losses.play(uow, story, start, mezz["id"], progress)
    with progress.status("issuing the funders' monthly statements"):
        losses["statements"] = demo_losses.issue_statements(uow)
    keys.update(example_reseller=mezz["example"], mezzanine=mezz["id"], oem=oem)
    write_private(path, json.dumps(keys, indent=2))
    progress.print(
        f"[green]demo loaded[/green]: {stats.resellers} resellers, {stats.enrolled} in Mezzanine, "
        f"{stats.events} purchase events, {stats.orders} orders ({stats.refused} refused), {stats.payments} payments, "
        f"{financed['financed']} orders financed by Microsoft Financing ({financed['late']} paid late)"
        + (f", {stats.settled:,} settled orders of history" if stats.settled else "")
        + f"; {losses['scheduled']} scheduled cover cuts, 2 defaults with {losses['claims']} claims"
        f" ({losses['settled']} settled), {losses['statements']} funder statements issued"
        + f", {stats.stops} resellers stopped for overdue invoices"
    )
    return keys


def _tenants_and_keys(uow: UnitOfWork) -> dict[str, Any]:
    keys = {}
    with uow.write() as s:
        for did, name, _ in DISTRIBUTORS:
            tenants.create_distributor(s, id=did, name=name, currency="EUR", timezone="Europe/Paris")
        for vid, name in VENDORS:
            tenants.create_vendor(s, id=vid, name=name)
        # Payment terms (SPEC §18): 30 days at Actebis, which stops resellers owing more than
        # EUR 500 over 60 days overdue; 45 days at ETC; the others keep the default 30.
        terms.update_policy(s, distributor_id="actebis", payment_terms_days=30, overdue_stop=ACTEBIS_STOP)
        terms.update_policy(s, distributor_id="etc", payment_terms_days=45)
        # Who admitted whom: Microsoft runs Mezzanine at Actebis and the OEM offer at ETC; Actebis
        # caps vendor lines at EUR 5,000; HP is admitted at Tech Data (no programme yet); Ingram
        # admitted nobody.
        for did, vid, cap, note in PARTNERSHIPS:
            partnerships.admit(
                s,
                distributor_id=did,
                vendor_id=vid,
                max_line_limit=cap,
                requires_approval=False,
                note=note,
                actor="demo:credit-officer",
            )
        keys["admin"] = auth.create_key(s, role="admin", label="demo admin")[1]
        keys["officer_actebis"] = auth.create_key(s, role="credit_officer", distributor_id="actebis", label="demo")[1]
        keys["erp_actebis"] = auth.create_key(s, role="integration", distributor_id="actebis", label="demo")[1]
        keys["officer_etc"] = auth.create_key(s, role="credit_officer", distributor_id="etc", label="demo")[1]
        keys["erp_etc"] = auth.create_key(s, role="integration", distributor_id="etc", label="demo")[1]
        keys["partner_microsoft"] = auth.create_key(s, role="partner_manager", vendor_id="microsoft", label="demo")[1]
    return keys


def _base_limit(rng: random.Random) -> Money:
    if rng.random() < 0.04:
        return Money("0.00", "EUR")  # cover withdrawn
    amount = min(500_000, max(1_000, math.exp(rng.gauss(math.log(8_000), 1.0))))
    return Money(str(int(amount // 500 * 500)), "EUR")


def _resellers(uow: UnitOfWork, rng: random.Random, count: int, stats: Stats) -> dict[str, list[str]]:
    by_distributor: dict[str, list[str]] = {d: [] for d, _, _ in DISTRIBUTORS}
    prefixes = {"actebis": "AC", "etc": "ET", "techdata": "TD", "ingram": "IM"}
    weights = [w for _, _, w in DISTRIBUTORS]
    rows: dict[str, list[tuple[str, str, Money]]] = {d: [] for d in by_distributor}
    for n in range(count):
        did = rng.choices([d for d, _, _ in DISTRIBUTORS], weights)[0]
        rid = f"{prefixes[did]}-{10001 + n}"
        rows[did].append((rid, f"{rng.choice(WORDS)} {rng.choice(OWNERS)} {rng.choice(TOWNS)}", _base_limit(rng)))
        by_distributor[did].append(rid)
    with uow.write() as s:
        for did, batch in rows.items():
            stats.resellers += ledger.import_resellers(
                s, distributor_id=did, rows=batch, actor="demo:onboarding", reason="insurer cover"
            )
        for did, ids in by_distributor.items():
            for rid in ids:
                roll = rng.random()
                if roll < 0.015:
                    ledger.terminate(
                        s, distributor_id=did, reseller_id=rid, reason="insolvency", actor="demo:credit-officer"
                    )
                elif roll < 0.04:
                    ledger.place_hold(
                        s, distributor_id=did, reseller_id=rid, reason="overdue invoices", actor="demo:credit-officer"
                    )
    return by_distributor


def _mezzanine(
    uow: UnitOfWork, rng: random.Random, resellers: list[str], starts_on: date, ends_on: date, stats: Stats
) -> dict[str, Any]:
    with uow.write() as s:
        programme, _ = programmes.create_programme(
            s,
            vendor_id="microsoft",
            distributor_id="actebis",
            code="mezzanine",
            name="Microsoft Mezzanine",
            kind="standing",
            line_limit=Money("5000.00", "EUR"),
            starts_on=starts_on,
            ends_on=ends_on,
            max_beneficiaries=1000,
            max_total_limit=Money("4500000.00", "EUR"),
            on_expiry="run_off",  # Microsoft's guarantee: what is drawn stays Microsoft's risk (SPEC §20)
        )
        chosen = rng.sample(resellers, min(len(resellers), rng.randint(900, 1000)))  # among the resellers cut
        batch: list[tuple[str, Money | None]] = [
            (rid, Money(str(rng.choice(range(1000, 5001, 500))), "EUR")) for rid in chosen
        ]
        results = []
        for i in range(0, len(batch), 500):
            results += enrolment.enrol(
                s,
                vendor_id="microsoft",
                programme_id=programme.id,
                resellers=batch[i : i + 500],
                actor="demo:partner-manager",
            )
        granted = [r.subject for r in results if r.outcome == "granted"]
        stats.enrolled = len(granted)
    return {"id": programme.id, "example": granted[0] if granted else resellers[0], "granted": granted}


def _oem_programme(uow: UnitOfWork, starts_on: date, today: date) -> str:
    with uow.write() as s:
        programme, _ = programmes.create_programme(
            s,
            vendor_id="microsoft",
            distributor_id="etc",
            code="office-oem",
            name="Office OEM booster",
            kind="purchase_triggered",
            line_limit=Money("5000.00", "EUR"),
            starts_on=starts_on,
            ends_on=date(today.year + 1, 12, 31),
            trigger_category="office_oem",
            trigger_min_amount=Money("1000.00", "EUR"),
            line_duration_months=6,
            max_beneficiaries=600,
        )
    return programme.id
