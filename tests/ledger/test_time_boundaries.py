"""valid_until is an inclusive local date; a line past it gives no headroom at once."""

from datetime import date

import pytest

from creditlines import clock, ledger
from creditlines.errors import InsufficientCredit
from tests.factories import eur, make_reseller, make_world


def _setup(uow, valid_until, tz="Europe/Paris", distributor="actebis"):
    make_world(uow, id=distributor, timezone=tz)
    make_reseller(uow, "R-1", "0.00", distributor_id=distributor)
    with uow.write() as s:
        return ledger.grant_programme_line(
            s,
            distributor_id=distributor,
            reseller_id="R-1",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("5000.00"),
            valid_until=valid_until,
            actor="partner",
        )


def _available(uow, distributor="actebis"):
    with uow.read() as s:
        return ledger.check_eligibility(s, distributor_id=distributor, reseller_id="R-1", amount=eur("1.00")).available


def test_drawable_at_2359_paris_on_the_last_day_not_at_midnight(uow):
    _setup(uow, date(2026, 6, 30))
    with clock.frozen("2026-06-30T23:59:00+02:00"):
        assert _available(uow) == eur("5000.00")
        with uow.write() as s:
            ledger.draw(
                s, distributor_id="actebis", reseller_id="R-1", reference="SO-late", amount=eur("100.00"), actor="erp"
            )
    with clock.frozen("2026-07-01T00:00:00+02:00"):  # 22:00 UTC on 30 June, already July in Paris
        assert _available(uow) == eur(0)
        with pytest.raises(InsufficientCredit):
            with uow.write() as s:
                ledger.draw(
                    s,
                    distributor_id="actebis",
                    reseller_id="R-1",
                    reference="SO-midnight",
                    amount=eur("1.00"),
                    actor="erp",
                )


def test_the_end_follows_the_distributors_own_time_zone(uow):
    _setup(uow, date(2026, 6, 30), tz="America/New_York", distributor="ingram-us")
    # 02:00 UTC on 1 July is still 22:00 on 30 June in New York: the line still gives credit.
    with clock.frozen("2026-07-01T02:00:00+00:00"):
        assert _available(uow, "ingram-us") == eur("5000.00")
    with clock.frozen("2026-07-01T04:00:00+00:00"):  # midnight in New York
        assert _available(uow, "ingram-us") == eur(0)


def test_across_the_autumn_daylight_saving_change(uow):
    # Paris leaves summer time at 03:00 on 25 October 2026 (UTC+2 → UTC+1).
    _setup(uow, date(2026, 10, 25))
    with clock.frozen("2026-10-25T22:59:00+00:00"):  # 23:59 on the 25th, winter time
        assert _available(uow) == eur("5000.00")
    with clock.frozen("2026-10-25T23:00:00+00:00"):  # 00:00 on the 26th
        assert _available(uow) == eur(0)


def test_across_the_spring_daylight_saving_change(uow):
    # Paris enters summer time at 02:00 on 29 March 2026 (UTC+1 → UTC+2).
    _setup(uow, date(2026, 3, 29))
    with clock.frozen("2026-03-29T21:59:00+00:00"):  # 23:59 summer time
        assert _available(uow) == eur("5000.00")
    with clock.frozen("2026-03-29T22:00:00+00:00"):  # 00:00 on the 30th
        assert _available(uow) == eur(0)


def test_an_expired_transfer_line_weighs_on_base_before_the_job_runs(uow):
    make_world(uow)
    make_reseller(uow, "R-1", "1000.00")
    with uow.write() as s:
        ledger.grant_programme_line(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            vendor_id="microsoft",
            programme_id=None,
            limit=eur("5000.00"),
            valid_until=date(2026, 6, 30),
            actor="partner",
        )
    with clock.frozen("2026-06-30T12:00:00+02:00"):
        with uow.write() as s:
            ledger.draw(
                s, distributor_id="actebis", reseller_id="R-1", reference="SO-1", amount=eur("3000.00"), actor="erp"
            )
    with clock.frozen("2026-07-01T09:00:00+02:00"):
        # No nightly job has run, yet the 2,000 still on Mezzanine already counts against base.
        assert _available(uow) == eur(0)
        with uow.read() as s:
            view = ledger.availability(s, distributor_id="actebis", reseller_id="R-1")
        assert view.over_limit and view.total_drawn == eur("3000.00") and view.total_limit == eur("1000.00")
