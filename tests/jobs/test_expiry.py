"""The nightly expiry: at local midnight, idempotent, safe to run twice at once, crash-safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from creditlines import clock, ledger
from creditlines.jobs import expiry, listings
from creditlines.ledger.models import LedgerEntry
from creditlines.ledger.verify import verify
from creditlines.tenants.models import Distributor
from tests.factories import eur, make_reseller, make_world

ADMIN = "expiry-admin-key-of-at-least-32-characters"


def grant(uow, distributor, reseller, limit="5000.00", until=date(2026, 6, 30), on_expiry="transfer_to_base"):
    with uow.write() as s:
        return ledger.grant_programme_line(
            s,
            distributor_id=distributor,
            reseller_id=reseller,
            vendor_id="microsoft",
            programme_id=None,
            limit=eur(limit),
            valid_until=until,
            on_expiry=on_expiry,
            actor="partner",
        )


def draw(uow, distributor, reseller, ref, amount):
    with uow.write() as s:
        ledger.draw(s, distributor_id=distributor, reseller_id=reseller, reference=ref, amount=eur(amount), actor="erp")


def entries(uow) -> int:
    with uow.read() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


def assert_agrees(uow):
    with uow.snapshot() as s:
        assert verify(s) == []


@pytest.fixture
def two_zones(uow):
    make_world(uow)  # actebis, Paris
    with uow.write() as s:
        s.add(
            Distributor(
                id="ingram-us", name="Ingram US", currency="EUR", timezone="America/New_York", created_at=clock.now()
            )
        )
    for d in ("actebis", "ingram-us"):
        make_reseller(uow, "R-1", "1000.00", distributor_id=d)
        grant(uow, d, "R-1")
        draw(uow, d, "R-1", "SO-1", "4000.00")  # 1,000 base + 3,000 vendor
    return uow


def test_lines_expire_at_local_midnight_in_each_time_zone(two_zones):
    uow = two_zones
    with clock.frozen("2026-07-01T00:30:00+02:00"):  # past midnight in Paris, 18:30 on 30 June in New York
        reports = {r.distributor_id: r for r in expiry.run_expiry(uow)}
        assert reports["actebis"].lines_expired == 1 and reports["ingram-us"].lines_expired == 0
        assert reports["actebis"].minor_transferred == 300000 and reports["actebis"].resellers_over_limit == 1
        with uow.read() as s:
            paris = ledger.availability(s, distributor_id="actebis", reseller_id="R-1")
            ny = ledger.availability(s, distributor_id="ingram-us", reseller_id="R-1")
            over = list(listings.over_limit(s, distributor_id="actebis"))
        assert paris.lines[0].drawn == eur("4000.00") and paris.over_limit
        assert ny.total_available == eur("2000.00")
        assert [(r.reseller_id, r.over_limit_by) for r in over] == [("R-1", "3000.00")]
    with clock.frozen("2026-07-01T06:00:00+00:00"):  # 02:00 in New York
        reports = {r.distributor_id: r for r in expiry.run_expiry(uow)}
    assert reports["ingram-us"].lines_expired == 1 and reports["actebis"].lines_expired == 0
    assert_agrees(uow)


def test_run_off_keeps_the_vendors_exposure(uow):
    make_world(uow)
    make_reseller(uow, "R-1", "1000.00")
    line = grant(uow, "actebis", "R-1", on_expiry="run_off")
    draw(uow, "actebis", "R-1", "SO-1", "2500.00")
    with clock.frozen("2026-07-01T08:00:00+02:00"):
        report = expiry.run_expiry(uow)[0]
        with uow.read() as s:
            view = ledger.availability(s, distributor_id="actebis", reseller_id="R-1")
    assert report.lines_expired == 1 and report.minor_transferred == 0 and report.resellers_over_limit == 0
    run_off = next(ln for ln in view.lines if ln.id == line.id)
    assert run_off.status == "expired" and run_off.drawn == eur("1500.00")  # still owed under Microsoft's guarantee
    assert view.total_available == eur(0) and view.lines[0].drawn == eur("1000.00")
    assert_agrees(uow)


def test_a_second_run_changes_nothing_and_a_dry_run_writes_nothing(two_zones):
    uow = two_zones
    with clock.frozen("2026-07-02T12:00:00+02:00"):
        before = entries(uow)
        dry = expiry.run_expiry(uow, dry_run=True)
        assert sum(r.lines_expired for r in dry) == 2 and entries(uow) == before
        first = expiry.run_expiry(uow)
        after_first = entries(uow)
        second = expiry.run_expiry(uow)
    assert sum(r.lines_expired for r in first) == 2 and after_first > before
    assert sum(r.lines_expired for r in second) == 0 and entries(uow) == after_first
    assert_agrees(uow)


def _many(uow, n=30):
    make_world(uow)
    for i in range(n):
        make_reseller(uow, f"R-{i:03d}", "100.00")
        grant(uow, "actebis", f"R-{i:03d}", limit="1000.00")
        draw(uow, "actebis", f"R-{i:03d}", f"SO-{i}", "600.00")


@pytest.mark.slow
def test_two_runs_at_once_do_not_double_anything(uow):
    _many(uow)
    results = []
    with clock.frozen("2026-07-01T09:00:00+02:00"):
        barrier = threading.Barrier(2)

        def run():
            barrier.wait()
            results.append(expiry.run_expiry(uow, batch_size=4))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r.lines_expired for rs in results for r in rs) == 30
    assert sum(r.minor_transferred for rs in results for r in rs) == 30 * 50000
    assert_agrees(uow)


def test_a_crash_half_way_leaves_nothing_half_applied_and_a_rerun_finishes(uow):
    _many(uow, n=12)
    with clock.frozen("2026-07-01T09:00:00+02:00"):
        with pytest.raises(RuntimeError, match="injected crash"):
            expiry.run_expiry(uow, batch_size=5, crash_after_batches=1, workers=1)
        assert_agrees(uow)
        with uow.read() as s:
            expired = s.execute(
                select(LedgerEntry.reseller_id, LedgerEntry.kind).where(
                    LedgerEntry.kind.in_(["line_expired", "drawn_transferred_out"])
                )
            ).all()
        # whole batches of five resellers (one or two committed before the crash), each entirely
        touched = sorted({r for r, _ in expired})
        assert len(touched) in (5, 10)
        assert sorted(expired) == sorted((r, k) for r in touched for k in ("line_expired", "drawn_transferred_out"))
        assert touched == [f"R-{i:03d}" for i in range(len(touched))]
        report = expiry.run_expiry(uow, batch_size=5)[0]
    assert report.lines_expired == 12 - len(touched)
    assert_agrees(uow)


def test_a_missed_night_is_replayed_and_the_future_is_refused(uow):
    make_world(uow)
    make_reseller(uow, "R-1", "0.00")
    grant(uow, "actebis", "R-1", until=date(2026, 6, 30))
    grant(uow, "actebis", "R-1", until=date(2026, 7, 1))
    with clock.frozen("2026-07-03T10:00:00+02:00"):
        with pytest.raises(expiry.FutureAsOf):
            expiry.run_expiry(uow, as_of=date(2026, 7, 4))
        replay = expiry.run_expiry(uow, as_of=date(2026, 7, 1))[0]  # the night of 30 June → 1 July
        assert replay.lines_expired == 1
        tonight = expiry.run_expiry(uow)[0]
        assert tonight.lines_expired == 1


def test_the_cli_and_the_api_run_the_same_job(engine, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from creditlines.db.engine import UnitOfWork

    url = engine.url.render_as_string(hide_password=False)
    uow = UnitOfWork(engine)
    make_world(uow)
    make_reseller(uow, "R-1", "100.00")
    grant(uow, "actebis", "R-1")
    draw(uow, "actebis", "R-1", "SO-1", "300.00")
    env = {**os.environ, "CREDITLINES_DATABASE_URL": url, "CREDITLINES_NOW": "2026-07-01T09:00:00+02:00"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "creditlines", *args], capture_output=True, text=True, env=env)

    refused = cli("expire", "--as-of", "2026-07-02")
    assert refused.returncode == 2 and "later than" in refused.stderr
    expiring = cli("report", "expiring", "--distributor", "actebis", "--within-days", "0", "--format", "csv")
    assert expiring.returncode == 0 and expiring.stdout.splitlines()[0].startswith("reseller_id,")
    done = cli("expire", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["lines_expired"] == 1
    assert summary["by_distributor"][0]["amount_transferred"] == {"amount": "200.00", "currency": "EUR"}
    over = cli("report", "over-limit", "--distributor", "actebis", "--format", "csv")
    assert over.stdout.splitlines()[1].startswith("R-1,Reseller R-1,active,100.00,300.00,200.00,EUR")
    assert cli("verify").returncode == 0

    os.environ["CREDITLINES_ADMIN_KEY"] = ADMIN
    try:
        from creditlines.config import get_settings

        get_settings.cache_clear()
        with clock.frozen("2026-07-01T09:00:00+02:00"), TestClient(create_app(url)) as client:
            again = client.post("/v1/jobs/expiry", headers={"Authorization": f"Bearer {ADMIN}"}, json={})
            future = client.post(
                "/v1/jobs/expiry", headers={"Authorization": f"Bearer {ADMIN}"}, json={"as_of": "2026-07-05"}
            )
            csv_report = client.get(
                "/v1/distributors/actebis/reports/over-limit",
                headers={"Authorization": f"Bearer {ADMIN}", "Accept": "text/csv"},
            )
    finally:
        del os.environ["CREDITLINES_ADMIN_KEY"]
        get_settings.cache_clear()
    assert again.status_code == 200 and again.json()["lines_expired"] == 0
    assert again.json()["by_distributor"][0]["amount_transferred"] == {"amount": "0.00", "currency": "EUR"}
    assert future.status_code == 422 and future.json()["code"] == "validation_error"
    assert csv_report.headers["content-type"].startswith("text/csv") and "R-1" in csv_report.text
