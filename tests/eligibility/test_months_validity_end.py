"""SPEC §3 "N months" from D: valid from D through (D + N months, clamped to month end) − 1 day.

Table tests: one row per case, (start, months, expected), dates written as ISO strings."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines.dates import add_months_clamped, months_validity_end

# (start, months, last valid day)
VALIDITY_END = [
    # SPEC §3's examples
    ("2026-01-15", 6, "2026-07-14"),
    ("2026-08-31", 6, "2027-02-27"),  # 31 Aug + 6 clamps to 28 Feb 2027, the day before
    # month ends: clamped to the target month's last day, then the day before
    ("2026-01-31", 1, "2026-02-27"),  # → 28 Feb
    ("2026-03-31", 1, "2026-04-29"),  # → 30 Apr
    ("2026-05-31", 1, "2026-06-29"),  # → 30 Jun
    ("2026-11-30", 3, "2027-02-27"),  # → 28 Feb, across a year
    ("2026-04-30", 1, "2026-05-29"),  # 30 Apr → 30 May: no clamp upward to 31 May
    ("2026-02-28", 12, "2027-02-27"),
    # leap years
    ("2027-08-31", 6, "2028-02-28"),  # → 29 Feb 2028
    ("2024-01-31", 1, "2024-02-28"),  # → 29 Feb 2024
    ("2024-02-29", 1, "2024-03-28"),  # → 29 Mar
    ("2024-02-29", 12, "2025-02-27"),  # → 28 Feb 2025
    ("2024-02-29", 48, "2028-02-28"),  # → 29 Feb 2028
    ("2023-02-28", 12, "2024-02-27"),  # → 28 Feb 2024 (not 29)
    # December → January
    ("2026-12-15", 1, "2027-01-14"),
    ("2026-12-31", 1, "2027-01-30"),
    ("2026-12-31", 2, "2027-02-27"),
    ("2026-12-01", 1, "2026-12-31"),
    # 1, 12 and 120 months
    ("2026-03-01", 1, "2026-03-31"),  # the first of a month + 1: that whole month
    ("2026-01-01", 12, "2026-12-31"),  # the calendar year
    ("2026-07-01", 12, "2027-06-30"),
    ("2026-07-01", 6, "2026-12-31"),
    ("2026-01-15", 120, "2036-01-14"),  # ten years
    ("2026-08-31", 120, "2036-08-30"),
    ("2027-02-28", 120, "2037-02-27"),
    ("2028-02-29", 120, "2038-02-27"),  # → 28 Feb 2038
]

# (start, months, start + months): the clamped addition alone, any number of months
ADD_MONTHS = [
    ("2026-01-31", 1, "2026-02-28"),
    ("2024-01-31", 1, "2024-02-29"),
    ("2026-12-31", 1, "2027-01-31"),
    ("2026-11-30", 3, "2027-02-28"),
    ("2026-03-15", 0, "2026-03-15"),
    ("2026-01-15", -1, "2025-12-15"),
    ("2024-03-31", -1, "2024-02-29"),
]

REFUSED_MONTHS = [0, -1, -12]


def _rows(table: list[tuple[str, int, str]]) -> list[object]:
    return [
        pytest.param(date.fromisoformat(start), months, date.fromisoformat(end), id=f"{start} + {months}")
        for start, months, end in table
    ]


@pytest.mark.parametrize("start, months, last_day", _rows(VALIDITY_END))
def test_months_validity_end(start: date, months: int, last_day: date) -> None:
    assert months_validity_end(start, months) == last_day


@pytest.mark.parametrize("months", REFUSED_MONTHS, ids=[f"{m} months" for m in REFUSED_MONTHS])
def test_a_duration_under_one_month_is_refused(months: int) -> None:
    with pytest.raises(ValueError):
        months_validity_end(date(2026, 1, 15), months)


@pytest.mark.parametrize("start, months, result", _rows(ADD_MONTHS))
def test_add_months_clamped(start: date, months: int, result: date) -> None:
    assert add_months_clamped(start, months) == result


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(date(1990, 1, 1), date(2150, 12, 31)), months=st.integers(1, 240))
def test_the_day_after_the_end_is_the_same_day_n_months_on_or_that_months_last_day(start: date, months: int) -> None:
    end = months_validity_end(start, months)
    following = end + timedelta(days=1)
    assert (following.year * 12 + following.month) - (start.year * 12 + start.month) == months
    assert following.day == min(start.day, calendar.monthrange(following.year, following.month)[1])
    assert start <= end < months_validity_end(start, months + 1)
