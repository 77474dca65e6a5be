"""SPEC §3 "N months" from D: valid from D through (D + N months, clamped to month end) − 1 day."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines.dates import add_months_clamped, months_validity_end


@pytest.mark.parametrize(
    "start, months, last_day",
    [
        pytest.param(date(2026, 1, 15), 6, date(2026, 7, 14), id="mid-month: 2026-01-15 + 6 → 2026-07-14"),
        pytest.param(
            date(2026, 8, 31), 6, date(2027, 2, 27), id="31 Aug + 6 clamps to 28 Feb 2027, the day before is 27 Feb"
        ),
        pytest.param(
            date(2027, 8, 31),
            6,
            date(2028, 2, 28),
            id="31 Aug + 6 into a leap year clamps to 29 Feb 2028, valid through 28 Feb",
        ),
        pytest.param(
            date(2024, 2, 29), 12, date(2025, 2, 27), id="29 Feb 2024 + 12 clamps to 28 Feb 2025, valid through 27 Feb"
        ),
        pytest.param(
            date(2024, 2, 29), 48, date(2028, 2, 28), id="29 Feb 2024 + 48 lands on 29 Feb 2028, valid through 28 Feb"
        ),
        pytest.param(date(2024, 2, 29), 1, date(2024, 3, 28), id="29 Feb + 1 → 28 Mar (no clamp upward)"),
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 27), id="31 Jan + 1 clamps to 28 Feb, through 27 Feb"),
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 28), id="31 Jan 2024 + 1 clamps to 29 Feb, through 28 Feb"),
        pytest.param(date(2026, 3, 31), 1, date(2026, 4, 29), id="31 Mar + 1 clamps to 30 Apr, through 29 Apr"),
        pytest.param(date(2026, 12, 15), 1, date(2027, 1, 14), id="Dec + 1 rolls over into January"),
        pytest.param(date(2026, 12, 31), 1, date(2027, 1, 30), id="31 Dec + 1 → 30 Jan of the next year"),
        pytest.param(date(2026, 11, 30), 3, date(2027, 2, 27), id="30 Nov + 3 clamps to 28 Feb, through 27 Feb"),
        pytest.param(date(2026, 7, 1), 6, date(2026, 12, 31), id="1 Jul + 6 ends on 31 Dec of the same year"),
        pytest.param(date(2026, 1, 1), 12, date(2026, 12, 31), id="1 Jan + 12 is the calendar year"),
        pytest.param(date(2026, 3, 1), 1, date(2026, 3, 31), id="the first of a month + 1 is that whole month"),
        pytest.param(date(2026, 1, 15), 120, date(2036, 1, 14), id="ten years"),
    ],
)
def test_months_validity_end(start, months, last_day):
    assert months_validity_end(start, months) == last_day


@pytest.mark.parametrize("months", [0, -1, -12], ids=["0 months", "-1 month", "-12 months"])
def test_a_duration_under_one_month_is_refused(months):
    with pytest.raises(ValueError):
        months_validity_end(date(2026, 1, 15), months)


@pytest.mark.parametrize(
    "start, months, result",
    [
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 28), id="clamped to the end of February"),
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="clamped to 29 Feb in a leap year"),
        pytest.param(date(2026, 12, 31), 1, date(2027, 1, 31), id="December to January of the next year"),
        pytest.param(date(2026, 11, 30), 3, date(2027, 2, 28), id="across a year, clamped"),
        pytest.param(date(2026, 3, 15), 0, date(2026, 3, 15), id="0 months is the same day"),
        pytest.param(date(2026, 1, 15), -1, date(2025, 12, 15), id="backwards across a year"),
    ],
)
def test_add_months_clamped(start, months, result):
    assert add_months_clamped(start, months) == result


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(date(1990, 1, 1), date(2150, 12, 31)), months=st.integers(1, 240))
def test_the_day_after_the_end_is_the_same_day_n_months_on_or_that_months_last_day(start, months):
    end = months_validity_end(start, months)
    following = end + timedelta(days=1)
    assert (following.year * 12 + following.month) - (start.year * 12 + start.month) == months
    assert following.day == min(start.day, calendar.monthrange(following.year, following.month)[1])
    assert start <= end < months_validity_end(start, months + 1)
