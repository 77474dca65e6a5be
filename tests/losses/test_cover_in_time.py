"""The cover in force on a date (SPEC §19): scheduled decisions, supersession, the nightly step."""

from __future__ import annotations

from datetime import date

import pytest

from creditlines import clock
from creditlines.decisions import insurance, policy
from creditlines.errors import ValidationFailed
from tests.factories import eur, make_reseller, make_world


def _set(uow, cover: str, decided_on: date, effective_on: date | None = None, insurer: str = "Coface"):
    with uow.write() as s:
        return insurance.set_cover(
            s,
            distributor_id="actebis",
            reseller_id="R-1",
            insurer=insurer,
            cover=eur(cover),
            decided_on=decided_on,
            effective_on=effective_on,
            reference=None,
            actor="k1",
        )


def _in_force(uow, day: date) -> int | None:
    with uow.read() as s:
        cover = policy.cover_in_force(s, "actebis", "R-1", day)
        return None if cover is None else cover.cover_minor


def test_a_later_decision_supersedes_a_scheduled_cut_whose_date_it_reaches(uow):
    """8,000 from 1 March; a cut to 2,000 scheduled for 1 April; on 15 March Coface withdraws it
    (a new decision of 8,000 from 15 March): on 1 April the cover is still 8,000."""
    make_world(uow)
    make_reseller(uow, "R-1", "10000.00")
    assert _in_force(uow, date(2026, 3, 1)) is None
    _set(uow, "8000.00", date(2026, 3, 1))
    scheduled = _set(uow, "2000.00", date(2026, 3, 2), date(2026, 4, 1))
    assert scheduled.scheduled and _set(uow, "2000.00", date(2026, 3, 2), date(2026, 4, 1)).changed is False
    assert [_in_force(uow, date(2026, 3, 31)), _in_force(uow, date(2026, 4, 1))] == [800_000, 200_000]
    clock.set_now("2026-03-15T09:00:00+00:00")
    _set(uow, "8000.00", date(2026, 3, 15))
    assert [_in_force(uow, date(2026, 3, 14)), _in_force(uow, date(2026, 4, 1))] == [800_000, 800_000]
    with pytest.raises(ValidationFailed):
        _set(uow, "1000.00", date(2026, 3, 15), date(2026, 3, 14))  # effective before decided
    with pytest.raises(ValidationFailed):
        _set(uow, "1000.00", date(2026, 3, 15), date(2028, 3, 16))  # more than two years ahead


def test_a_missed_night_still_applies_a_scheduled_cut_once(uow):
    """Cap policy: cover + 2,000. 8,000 → cap 10,000; a cut to 3,000 from 1 April (cap 5,000). The
    nights of 1 to 3 April were missed: the run of 4 April cuts the base limit to 5,000, once."""
    make_world(uow)
    make_reseller(uow, "R-1", "10000.00")
    with uow.write() as s:
        policy.update(
            s,
            distributor_id="actebis",
            actor="t",
            base_cap_policy="cover_plus_discretionary",
            discretionary=eur("2000"),
        )
    _set(uow, "8000.00", date(2026, 3, 1))
    _set(uow, "3000.00", date(2026, 3, 2), date(2026, 4, 1))
    clock.set_now("2026-04-04T09:00:00+00:00")
    for _run in range(2):
        with uow.write() as s:
            cut = insurance.apply_due_cuts(s, distributor_id="actebis", day=date(2026, 4, 4), actor="job")
        if _run == 0:
            assert cut == ["R-1"]
        else:
            assert cut == []
    with uow.read() as s:
        assert policy.insured_cap(s, "actebis", "R-1") == 500_000


@pytest.mark.parametrize(
    ("given", "bp", "shown"),
    [("90", 9000, "90"), (90, 9000, "90"), ("87.50", 8750, "87.5"), ("0", 0, "0"), ("100", 10000, "100")],
)
def test_indemnity_rates_are_percents_with_at_most_two_decimals(given, bp, shown):
    assert (policy.percent_bp(given), policy.percent_str(bp)) == (bp, shown)


@pytest.mark.parametrize("given", ["100.01", "-1", "33.333", "NaN", "Infinity", "", "x", 90.5, True, None])
def test_other_rates_are_refused(given):
    with pytest.raises(ValidationFailed):
        policy.percent_bp(given)
