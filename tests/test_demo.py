"""The field scenario loads through the real services and the ledger agrees with it."""

import json
import os
import stat
from datetime import date
from decimal import Decimal
from io import StringIO

from rich.console import Console
from sqlalchemy import func, select

from creditlines import demo
from creditlines.db.engine import UnitOfWork
from creditlines.ledger import terms
from creditlines.ledger.ageing import ageing
from creditlines.ledger.models import Drawing, Line, Reseller
from creditlines.ledger.verify import verify
from creditlines.programmes.models import PurchaseEvent


def test_the_demo_loads_a_consistent_field_scenario(engine, tmp_path):
    uow = UnitOfWork(engine)
    out = Console(file=StringIO(), width=120)
    keys = demo.load(uow, size="smoke", if_empty=False, seed=7, database_url=f"sqlite:///{tmp_path}/x.db", progress=out)
    assert {"admin", "officer_actebis", "erp_actebis", "partner_microsoft", "example_reseller"} <= keys.keys()
    assert_private(tmp_path / "x.demo-keys.json", keys)
    with uow.snapshot() as s:
        assert verify(s) == []
        assert s.scalar(select(func.count()).select_from(Reseller)) == 400
        statuses = dict(s.execute(select(Reseller.status, func.count()).group_by(Reseller.status)).all())
        mezzanine = s.scalar(select(func.count()).select_from(Line).where(Line.programme_id == "mezzanine@actebis"))
        assert s.scalar(select(func.count()).select_from(Drawing)) > 50
        assert s.scalar(select(func.count()).select_from(PurchaseEvent)) > 0
    assert statuses["active"] > 350 and mezzanine > 30
    with uow.snapshot() as s:  # SPEC §18: terms, an overdue stop at Actebis, money that ages
        assert terms.policy_of(s, "actebis").overdue_stop == terms.OverdueStop(60, 50_000)
        assert terms.policy_of(s, "etc").payment_terms_days == 45
        report = ageing(s, distributor_id="actebis")
        overdue = report.totals.outstanding - report.totals.amounts["not_due"]
        assert report.totals.outstanding > 0 and overdue > 0
    assert_the_insurer_story(uow)
    assert_the_financing_story(uow)
    assert_the_loss_story(uow)
    again = demo.load(uow, size="smoke", if_empty=True, seed=7, database_url=f"sqlite:///{tmp_path}/x.db", progress=out)
    assert again == keys  # --if-empty: nothing loaded twice, the keys shown again


def assert_the_loss_story(uow) -> None:
    """Scheduled Coface cuts, two defaults written off by funder, claims (some settled), the
    statements issued and their chain intact; verify (ledger and losses) clean."""
    from creditlines.events.models import Event
    from creditlines.losses import statement_chain
    from creditlines.losses.models import Claim, FunderStatement, ResellerDefault
    from creditlines.losses.verify import verify_all

    with uow.snapshot() as s:
        assert verify_all(s) == []
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "insurance.cut_scheduled")) > 0
        assert s.scalar(select(func.count()).select_from(ResellerDefault)) == 2
        kinds = {(c.funder_kind, c.status) for c in s.scalars(select(Claim))}
        assert ("vendor", "paid") in kinds and any(k == "insurer" for k, _ in kinds)
        assert s.scalar(select(func.count()).select_from(FunderStatement)) >= 3
        assert statement_chain.verify(s, distributor_id="actebis", funder="microsoft")[1] == []


def assert_private(path, keys) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == keys
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_the_keys_file_is_private_from_its_first_byte(tmp_path, monkeypatch):
    path = tmp_path / "var" / "x.demo-keys.json"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)  # a file left by an earlier load, readable by all: replaced, never reused
    old_umask = os.umask(0o022)
    created = []
    real_open = os.open

    def watching_open(file, flags, mode=0o777, *args, **kwargs):
        fd = real_open(file, flags, mode, *args, **kwargs)
        created.append((flags, mode, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(os, "open", watching_open)
    try:
        demo.write_private(path, json.dumps({"admin": "secret"}))
    finally:
        os.umask(old_umask)
    ((flags, mode, at_creation),) = created
    assert flags & os.O_CREAT and flags & os.O_EXCL and mode == 0o600 and at_creation == 0o600
    assert_private(path, {"admin": "secret"})


def test_the_large_demo_writes_settled_history_the_ledger_agrees_with(engine, tmp_path):
    from creditlines.ledger.models import LedgerEntry, Release

    uow = UnitOfWork(engine)
    out = Console(file=StringIO(), width=120)
    demo.load(uow, size="smoke-large", if_empty=False, seed=11, database_url=f"sqlite:///{tmp_path}/x.db", progress=out)
    with uow.snapshot() as s:
        assert verify(s) == []  # every balance is the fold of its entries, sequences included
        settled = s.scalar(select(func.count()).select_from(Drawing).where(Drawing.reference.like("HX-%")))
        assert 2_800 <= settled <= 3_200
        assert s.scalar(select(func.count()).select_from(Release).where(Release.reference.like("PAY-H%"))) == settled
        assert (
            s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.drawing_reference.like("HX-%")))
            == 4 * settled
        )
        # the story told through the services comes after the history, in time and in sequence
        last_history = s.scalar(select(func.max(LedgerEntry.at)).where(LedgerEntry.drawing_reference.like("HX-%")))
        first_story = s.scalar(select(func.min(LedgerEntry.at)).where(LedgerEntry.drawing_reference.like("SO-%")))
        assert last_history < first_story
        gaps = s.execute(
            select(
                LedgerEntry.distributor_id, LedgerEntry.reseller_id, func.count(), func.max(LedgerEntry.seq)
            ).group_by(LedgerEntry.distributor_id, LedgerEntry.reseller_id)
        ).all()
        assert all(count == top for _, _, count, top in gaps)  # sequences without holes or doubles


def assert_the_insurer_story(uow) -> None:
    """A wave of cover cuts at Actebis, lines cut with it, and Mezzanine's beneficiaries among them."""
    from creditlines.decisions import reports
    from creditlines.decisions.models import InsuranceCover
    from creditlines.ledger.models import LedgerEntry

    with uow.snapshot() as s:
        cuts = {row.reseller_id: row for row in reports.cover_cuts(s, distributor_id="actebis", since=date(1970, 1, 1))}
        beneficiaries = set(s.scalars(select(Line.reseller_id).where(Line.programme_id == "mezzanine@actebis")))
        insurer_cuts = s.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.reason == "insurer_cut")
        )
        covers = s.scalar(select(func.count()).select_from(InsuranceCover))
    assert len(cuts) > 40 and covers > len(cuts) and insurer_cuts == len(cuts)
    assert beneficiaries and beneficiaries <= cuts.keys()  # Microsoft helps resellers the insurers cut
    assert all(Decimal(row.cover_after) < Decimal(row.cover_before) for row in cuts.values())


def assert_the_financing_story(uow) -> None:
    """Microsoft Financing carried a dozen Actebis orders; a few of its payments came late, and
    the report says so."""
    from creditlines.jobs.financing_report import financings_report

    with uow.read() as s:
        [row] = financings_report(s, distributor_id="actebis", since=date(2000, 1, 1))
    assert row.financier == "microsoft-financing" and row.financed_count == 12
    late = row.financed_count - row.paid_on_time_count
    assert 1 <= late <= 6, row
    assert row.overdue_count == 0  # every late payment came in the end
