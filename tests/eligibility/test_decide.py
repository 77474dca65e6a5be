"""``decide``: would a drawing be accepted now, and from which lines (SPEC §4, §5, §7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditlines.eligibility import (
    decide,
    effective_lines,
    usable_for_drawing,
    waterfall_key,
)

from .builders import DAY, MEZZANINE_END, base, cents, programme

AFTER = MEZZANINE_END + timedelta(days=1)
OEM = programme("oem", usable_for="vendor_products", until=date(2026, 9, 14), grant_seq=2)

# lines, amount (EUR), vendor_id, day, reseller status →
#   eligible, available (EUR), shortfall (EUR), plan [(line id, EUR)], reason codes
CASES = [
    pytest.param(
        [base(), programme()],
        "12000",
        None,
        DAY,
        "active",
        True,
        "15000",
        "0",
        [("base", "10000"), ("mezzanine", "2000")],
        [],
        id="the field example: 12,000 takes 10,000 from base, then 2,000 from Mezzanine",
    ),
    pytest.param(
        [base(), programme()],
        "15000",
        None,
        DAY,
        "active",
        True,
        "15000",
        "0",
        [("base", "10000"), ("mezzanine", "5000")],
        [],
        id="an amount equal to the available is accepted",
    ),
    pytest.param(
        [base(), programme()],
        "15000.01",
        None,
        DAY,
        "active",
        False,
        "15000",
        "0.01",
        [],
        ["insufficient_credit"],
        id="one cent more is refused with its shortfall, and no plan",
    ),
    pytest.param(
        [base(limit="0")],
        "0.01",
        None,
        DAY,
        "active",
        False,
        "0",
        "0.01",
        [],
        ["insufficient_credit"],
        id="a limit of 0 is no credit, not unlimited",
    ),
    pytest.param(
        [base(drawn="12000"), programme()],
        "3000",
        None,
        DAY,
        "active",
        True,
        "3000",
        "0",
        [("mezzanine", "3000")],
        [],
        id="an overdrawn base eats supplementary headroom first",
    ),
    pytest.param(
        [base(drawn="12000"), programme()],
        "3000.01",
        None,
        DAY,
        "active",
        False,
        "3000",
        "0.01",
        [],
        ["insufficient_credit"],
        id="an overdrawn base leaves only the rest of the vendor headroom",
    ),
    pytest.param(
        [base(drawn="20000"), programme()],
        "0.01",
        None,
        DAY,
        "active",
        False,
        "0",
        "0.01",
        [],
        ["insufficient_credit"],
        id="the total available never goes below 0",
    ),
    pytest.param(
        [base(limit="1000"), programme("mezzanine"), programme("early", until=date(2026, 5, 14), grant_seq=5)],
        "7000",
        None,
        DAY,
        "active",
        True,
        "11000",
        "0",
        [("base", "1000"), ("early", "5000"), ("mezzanine", "1000")],
        [],
        id="programme lines are drawn by earliest valid_until",
    ),
    pytest.param(
        [base(limit="1000"), programme("newer", grant_seq=4), programme("older", grant_seq=2)],
        "2000",
        None,
        DAY,
        "active",
        True,
        "11000",
        "0",
        [("base", "1000"), ("older", "1000")],
        [],
        id="same valid_until: the oldest grant is drawn first",
    ),
    pytest.param(
        [base(limit="1000"), programme("full", drawn="5000", until=date(2026, 4, 30)), programme()],
        "1500",
        None,
        DAY,
        "active",
        True,
        "6000",
        "0",
        [("base", "1000"), ("mezzanine", "500")],
        [],
        id="a line drawn to its limit is passed over",
    ),
    pytest.param(
        [base(), OEM],
        "12000",
        "microsoft",
        DAY,
        "active",
        True,
        "15000",
        "0",
        [("base", "10000"), ("oem", "2000")],
        [],
        id="a vendor_products line serves that vendor's orders",
    ),
    pytest.param(
        [base(), OEM],
        "12000",
        "hp",
        DAY,
        "active",
        False,
        "10000",
        "2000",
        [],
        ["insufficient_credit"],
        id="a vendor_products line does not serve another vendor's orders",
    ),
    pytest.param(
        [base(), OEM],
        "12000",
        None,
        DAY,
        "active",
        False,
        "10000",
        "2000",
        [],
        ["insufficient_credit"],
        id="a vendor_products line does not serve an order naming no vendor",
    ),
    pytest.param(
        [base(), programme()],
        "15000",
        None,
        MEZZANINE_END,
        "active",
        True,
        "15000",
        "0",
        [("base", "10000"), ("mezzanine", "5000")],
        [],
        id="a line gives headroom through its valid_until day (inclusive)",
    ),
    pytest.param(
        [base(), programme()],
        "10000.01",
        None,
        AFTER,
        "active",
        False,
        "10000",
        "0.01",
        [],
        ["insufficient_credit"],
        id="a line past valid_until gives no headroom from that local day",
    ),
    pytest.param(
        [base(drawn="5000"), programme(drawn="3000")],
        "2000",
        None,
        AFTER,
        "active",
        True,
        "2000",
        "0",
        [("base", "2000")],
        [],
        id="transfer_to_base: what is drawn on the expired line weighs on base before the job",
    ),
    pytest.param(
        [base(drawn="8000"), programme(drawn="3000")],
        "0.01",
        None,
        AFTER,
        "active",
        False,
        "0",
        "0.01",
        [],
        ["insufficient_credit"],
        id="transfer_to_base can leave no headroom at all",
    ),
    pytest.param(
        [base(drawn="8000"), programme(drawn="3000", on_expiry="run_off")],
        "2000",
        None,
        AFTER,
        "active",
        True,
        "2000",
        "0",
        [("base", "2000")],
        [],
        id="run_off: what is drawn stays on the expired line, base keeps its headroom",
    ),
    pytest.param(
        [base(), programme(valid_from=date(2026, 4, 1))],
        "10000.01",
        None,
        DAY,
        "active",
        False,
        "10000",
        "0.01",
        [],
        ["insufficient_credit"],
        id="a line not yet started gives nothing",
    ),
    pytest.param(
        [base(), programme(status="revoked")],
        "10000.01",
        None,
        DAY,
        "active",
        False,
        "10000",
        "0.01",
        [],
        ["insufficient_credit"],
        id="a revoked line gives nothing",
    ),
    pytest.param(
        [base(), programme()],
        "500",
        None,
        DAY,
        "on_hold",
        False,
        "15000",
        "0",
        [("base", "500")],
        ["account_on_hold"],
        id="on_hold: refused with account_on_hold though the credit is there",
    ),
    pytest.param(
        [base(), programme()],
        "500",
        None,
        DAY,
        "terminated",
        False,
        "15000",
        "0",
        [("base", "500")],
        ["reseller_terminated"],
        id="terminated: refused with reseller_terminated",
    ),
    pytest.param(
        [base()],
        "20000",
        None,
        DAY,
        "on_hold",
        False,
        "10000",
        "10000",
        [],
        ["account_on_hold", "insufficient_credit"],
        id="on_hold and short: both reasons, the status first",
    ),
]


@pytest.mark.parametrize("lines, amount, vendor_id, day, status, eligible, available, shortfall, plan, reasons", CASES)
def test_decide(lines, amount, vendor_id, day, status, eligible, available, shortfall, plan, reasons):
    decision = decide(lines, amount=cents(amount), vendor_id=vendor_id, day=day, reseller_status=status)
    assert decision.eligible is eligible
    assert decision.requested == cents(amount)
    assert decision.available == cents(available)
    assert decision.shortfall == cents(shortfall)
    assert [(item.line_id, item.amount) for item in decision.plan] == [(i, cents(a)) for i, a in plan]
    assert [reason.code for reason in decision.reasons] == reasons


def test_plan_items_name_their_funder():
    decision = decide([base(), programme()], amount=cents(12000), vendor_id=None, day=DAY, reseller_status="active")
    assert [(item.kind, item.funder) for item in decision.plan] == [("base", "actebis"), ("programme", "microsoft")]


@pytest.mark.parametrize("amount", [0, -1], ids=["zero", "negative"])
def test_an_amount_must_be_positive(amount):
    with pytest.raises(ValueError):
        decide([base()], amount=amount, vendor_id=None, day=DAY, reseller_status="active")


# Properties over arbitrary line sets: the plan is the waterfall, exactly.

VENDORS = st.sampled_from(["microsoft", "hp"])


@st.composite
def line_sets(draw):
    lines = [replace(base(), limit=draw(st.integers(0, 2_000_000)), drawn=draw(st.integers(0, 3_000_000)))]
    for seq in range(1, draw(st.integers(0, 4)) + 1):
        line = programme(
            f"p{seq}",
            vendor=draw(VENDORS),
            grant_seq=seq,
            until=DAY + timedelta(days=draw(st.integers(-3, 3))),
            valid_from=DAY + timedelta(days=draw(st.integers(-30, 1))),
            usable_for=draw(st.sampled_from(["any", "vendor_products"])),
            on_expiry=draw(st.sampled_from(["transfer_to_base", "run_off"])),
            status=draw(st.sampled_from(["active", "active", "active", "expired", "revoked"])),
        )
        limit = draw(st.integers(0, 1_000_000))
        lines.append(replace(line, limit=limit, drawn=draw(st.integers(0, limit))))
    return lines


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=line_sets(),
    amount=st.integers(1, 4_000_000),
    vendor_id=st.none() | VENDORS,
    status=st.sampled_from(["active", "on_hold", "terminated"]),
)
def test_the_plan_is_the_waterfall(lines, amount, vendor_id, status):
    decision = decide(lines, amount=amount, vendor_id=vendor_id, day=DAY, reseller_status=status)
    effective = {line.id: line for line in effective_lines(lines, DAY)}
    usable = sorted(
        (line for line in effective.values() if usable_for_drawing(line, DAY, vendor_id)), key=waterfall_key
    )

    assert decision.available == max(0, sum(line.available for line in usable))
    assert decision.eligible == (amount <= decision.available and status == "active")
    assert decision.shortfall == max(0, amount - decision.available)
    if amount > decision.available:
        assert decision.plan == ()
        return
    taken = {item.line_id: item.amount for item in decision.plan}
    assert sum(taken.values()) == amount
    assert len(taken) == len(decision.plan)  # no line twice
    for item in decision.plan:
        line = effective[item.line_id]
        assert usable_for_drawing(line, DAY, vendor_id)
        assert 0 < item.amount <= line.available  # never more than a line's positive available
    # In waterfall order, and every line before the last one drawn is drawn to its limit.
    order = [line.id for line in usable if line.id in taken]
    assert order == [item.line_id for item in decision.plan]
    last = usable.index(effective[decision.plan[-1].line_id])
    for line in usable[:last]:
        assert taken.get(line.id, 0) == max(0, line.available)
