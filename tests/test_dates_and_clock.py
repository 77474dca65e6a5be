from datetime import UTC, date, datetime

import pytest

from creditlines import clock
from creditlines.dates import add_months_clamped, months_validity_end


@pytest.mark.parametrize(
    "start, months, last_day",
    [
        (date(2026, 1, 15), 6, date(2026, 7, 14)),  # SPEC §3
        (date(2026, 8, 31), 6, date(2027, 2, 27)),  # clamped to 28 Feb, minus one day
        (date(2027, 8, 31), 6, date(2028, 2, 28)),  # leap year: 29 Feb − 1
        (date(2026, 1, 31), 1, date(2026, 2, 27)),
        (date(2026, 3, 31), 1, date(2026, 4, 29)),
        (date(2026, 12, 31), 2, date(2027, 2, 27)),
        (date(2026, 7, 1), 6, date(2026, 12, 31)),
        (date(2026, 2, 28), 12, date(2027, 2, 27)),
    ],
)
def test_n_months_from_a_date(start, months, last_day):
    assert months_validity_end(start, months) == last_day


def test_add_months_crosses_years():
    assert add_months_clamped(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_duration_is_at_least_a_month():
    with pytest.raises(ValueError):
        months_validity_end(date(2026, 1, 1), 0)


def test_creditlines_now_fixes_the_clock(monkeypatch):
    clock.set_now(None)
    monkeypatch.setenv("CREDITLINES_NOW", "2026-06-30T23:59:00+02:00")
    assert clock.now() == datetime(2026, 6, 30, 21, 59, tzinfo=UTC)
    assert clock.local_today("Europe/Paris") == date(2026, 6, 30)
    assert clock.local_today("America/New_York") == date(2026, 6, 30)
    assert clock.local_today("Asia/Tokyo") == date(2026, 7, 1)


def test_an_instant_needs_an_offset():
    with pytest.raises(ValueError):
        clock.parse_instant("2026-06-30T23:59:00")
