"""``release_plan``: a partial release frees allocations in reverse waterfall order (SPEC §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines.eligibility import release_plan, waterfall_key

from .builders import DAY, base, cents, programme

BASE, MEZZANINE = base(), programme()
FIELD = [(BASE, cents(10000)), (MEZZANINE, cents(2000))]  # the 12,000 order of the field example


@pytest.mark.parametrize(
    "allocations, amount, freed",
    [
        pytest.param(
            FIELD,
            "3000",
            [("mezzanine", "2000"), ("base", "1000")],
            id="the field example: a payment of 3,000 frees Mezzanine first, then base",
        ),
        pytest.param(
            FIELD,
            "1500",
            [("mezzanine", "1500")],
            id="a payment smaller than the vendor part comes from the vendor line only",
        ),
        pytest.param(
            FIELD,
            "12000",
            [("mezzanine", "2000"), ("base", "10000")],
            id="a full release frees every allocation, vendor first",
        ),
        pytest.param(
            list(reversed(FIELD)),
            "2000.01",
            [("mezzanine", "2000"), ("base", "0.01")],
            id="the order of the allocations given plays no part",
        ),
        pytest.param(
            [(BASE, cents(1000)), (programme("early", until=date(2026, 5, 14)), cents(1000)), (MEZZANINE, cents(1000))],
            "1500",
            [("mezzanine", "1000"), ("early", "500")],
            id="the latest valid_until is freed first",
        ),
        pytest.param(
            [(programme("older", grant_seq=2), cents(1000)), (programme("newer", grant_seq=7), cents(1000))],
            "1200",
            [("newer", "1000"), ("older", "200")],
            id="same valid_until: the newest grant is freed first",
        ),
        pytest.param(
            [(BASE, cents(1000)), (MEZZANINE, 0)],
            "400",
            [("base", "400")],
            id="an allocation already repaid is passed over",
        ),
        pytest.param(
            [(BASE, cents(1000)), (replace(MEZZANINE, status="expired", on_expiry="run_off"), cents(500))],
            "500",
            [("mezzanine", "500")],
            id="a run_off line past its end is still freed first (the vendor's guarantee)",
        ),
    ],
)
def test_release_plan(allocations, amount, freed):
    assert release_plan(allocations, cents(amount)) == [(line_id, cents(a)) for line_id, a in freed]


@pytest.mark.parametrize(
    "amount",
    [0, -1, cents(12000) + 1],
    ids=["zero is refused", "a negative amount is refused", "more than the outstanding is refused"],
)
def test_release_bounds(amount):
    with pytest.raises(ValueError):
        release_plan(FIELD, amount)


@st.composite
def allocations(draw):
    pairs = [(base(), draw(st.integers(0, 2_000_000)))]
    for seq in range(1, draw(st.integers(0, 4)) + 1):
        line = programme(f"p{seq}", grant_seq=seq, until=DAY + timedelta(days=draw(st.integers(-5, 200))))
        pairs.append((line, draw(st.integers(0, 1_000_000))))
    if sum(outstanding for _, outstanding in pairs) == 0:
        pairs[0] = (pairs[0][0], 1)
    return draw(st.permutations(pairs))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=allocations(), data=st.data())
def test_a_release_frees_exactly_its_amount_in_reverse_waterfall_order(pairs, data):
    outstanding = {line.id: left for line, left in pairs}
    amount = data.draw(st.integers(1, sum(outstanding.values())))
    plan = release_plan(pairs, amount)

    assert sum(freed for _, freed in plan) == amount
    assert len({line_id for line_id, _ in plan}) == len(plan)
    assert all(0 < freed <= outstanding[line_id] for line_id, freed in plan)
    freed_by_line = dict(plan)
    reverse = [line.id for line, _ in sorted(pairs, key=lambda pair: waterfall_key(pair[0]), reverse=True)]
    assert [line_id for line_id, _ in plan] == [line_id for line_id in reverse if line_id in freed_by_line]
    # Every allocation before the last one touched, in reverse waterfall order, is freed entirely.
    for line_id in reverse[: reverse.index(plan[-1][0])]:
        assert freed_by_line.get(line_id, 0) == outstanding[line_id]
