"""The lines as they stand on a local day (SPEC §3, §4, §5): inclusive ends, on_expiry, totals."""

from __future__ import annotations

from datetime import date

import pytest

from creditlines.eligibility import Totals, effective_lines, is_current, totals, usable_for_drawing

from .builders import MEZZANINE_END, base, cents, programme

AFTER = date(2026, 7, 1)  # the first local day past Mezzanine's valid_until


def states(lines):
    return [(line.id, line.status, line.drawn) for line in lines]


@pytest.mark.parametrize(
    "lines, day, expected",
    [
        pytest.param(
            [base(drawn="10000"), programme(drawn="2000")],
            MEZZANINE_END,
            [("base", "active", cents(10000)), ("mezzanine", "active", cents(2000))],
            id="on its valid_until day a line is still active (inclusive end)",
        ),
        pytest.param(
            [base(drawn="10000"), programme(drawn="2000")],
            AFTER,
            [("base", "active", cents(12000)), ("mezzanine", "expired", 0)],
            id="past valid_until, transfer_to_base moves what is drawn to base before the job",
        ),
        pytest.param(
            [base(drawn="10000"), programme(drawn="2000", on_expiry="run_off")],
            AFTER,
            [("base", "active", cents(10000)), ("mezzanine", "expired", cents(2000))],
            id="past valid_until, run_off leaves what is drawn on the expired line",
        ),
        pytest.param(
            [
                base(drawn="1000"),
                programme("mezzanine", drawn="2000"),
                programme("oem", drawn="500", until=date(2026, 5, 14)),
                programme("later", drawn="700", until=date(2026, 12, 31)),
            ],
            AFTER,
            [
                ("base", "active", cents(3500)),
                ("mezzanine", "expired", 0),
                ("oem", "expired", 0),
                ("later", "active", cents(700)),
            ],
            id="two expired transfer_to_base lines add up on base, a running line is untouched",
        ),
        pytest.param(
            [base(), programme()],
            AFTER,
            [("base", "active", 0), ("mezzanine", "expired", 0)],
            id="an expired line with nothing drawn simply expires",
        ),
        pytest.param(
            [
                base(drawn="500"),
                programme(drawn="300", status="expired", on_expiry="run_off"),
                programme("revoked", status="revoked"),
            ],
            AFTER,
            [("base", "active", cents(500)), ("mezzanine", "expired", cents(300)), ("revoked", "revoked", 0)],
            id="lines the job already closed are left as they are",
        ),
        pytest.param(
            [base(drawn="500")],
            date(2099, 12, 31),
            [("base", "active", cents(500))],
            id="the base line has no end and never expires",
        ),
    ],
)
def test_effective_lines(lines, day, expected):
    assert states(effective_lines(lines, day)) == expected


@pytest.mark.parametrize(
    "line, day, current",
    [
        pytest.param(programme(), MEZZANINE_END, True, id="valid_until itself is a valid day"),
        pytest.param(programme(), AFTER, False, id="the day after valid_until is not"),
        pytest.param(
            programme(valid_from=date(2026, 3, 2)), date(2026, 3, 2), True, id="valid_from itself is a valid day"
        ),
        pytest.param(
            programme(valid_from=date(2026, 3, 2)),
            date(2026, 3, 1),
            False,
            id="a line granted ahead of its start is pending the day before",
        ),
        pytest.param(
            programme(status="expired"),
            date(2026, 3, 2),
            False,
            id="an expired line is not current even within its dates",
        ),
        pytest.param(programme(status="revoked"), date(2026, 3, 2), False, id="a revoked line is not current"),
        pytest.param(base(), date(2099, 12, 31), True, id="an active base line is always current"),
    ],
)
def test_is_current(line, day, current):
    assert is_current(line, day) is current


VENDOR_ONLY = programme("oem", usable_for="vendor_products")


@pytest.mark.parametrize(
    "line, day, vendor_id, usable",
    [
        pytest.param(programme(), date(2026, 3, 2), None, True, id="an 'any' line serves an order naming no vendor"),
        pytest.param(programme(), date(2026, 3, 2), "hp", True, id="an 'any' line serves another vendor's order"),
        pytest.param(
            VENDOR_ONLY, date(2026, 3, 2), "microsoft", True, id="a vendor_products line serves its vendor's order"
        ),
        pytest.param(
            VENDOR_ONLY,
            date(2026, 3, 2),
            "hp",
            False,
            id="a vendor_products line does not serve another vendor's order",
        ),
        pytest.param(
            VENDOR_ONLY,
            date(2026, 3, 2),
            None,
            False,
            id="a vendor_products line does not serve an order naming no vendor",
        ),
        pytest.param(
            VENDOR_ONLY, AFTER, "microsoft", False, id="a vendor_products line past valid_until serves nobody"
        ),
        pytest.param(
            base(status="expired"), date(2026, 3, 2), None, False, id="a line that is not active serves nobody"
        ),
    ],
)
def test_usable_for_drawing(line, day, vendor_id, usable):
    assert usable_for_drawing(line, day, vendor_id) is usable


def eur_totals(limit, drawn, available, over_limit) -> Totals:
    return Totals(limit=cents(limit), drawn=cents(drawn), available=cents(available), over_limit=over_limit)


@pytest.mark.parametrize(
    "lines, day, expected",
    [
        pytest.param(
            [base(), programme("oem", usable_for="vendor_products")],
            date(2026, 3, 2),
            eur_totals(15000, 0, 15000, False),
            id="the availability view counts vendor-restricted lines too",
        ),
        pytest.param(
            [base(drawn="12000"), programme()],
            date(2026, 3, 2),
            eur_totals(15000, 12000, 3000, False),
            id="an overdrawn base covered by vendor headroom is not over limit",
        ),
        pytest.param(
            [base(drawn="9000"), programme(drawn="3000")],
            AFTER,
            eur_totals(10000, 12000, 0, True),
            id="transfer_to_base at the end can leave the reseller over limit",
        ),
        pytest.param(
            [base(), programme(drawn="3000", on_expiry="run_off")],
            AFTER,
            eur_totals(10000, 0, 10000, False),
            id="a run_off line past its end counts neither limit nor drawn",
        ),
        pytest.param(
            [base(limit="0")],
            date(2026, 3, 2),
            eur_totals(0, 0, 0, False),
            id="a limit of 0 is no credit, not unlimited",
        ),
        pytest.param(
            [base(), programme(valid_from=date(2026, 4, 1))],
            date(2026, 3, 2),
            eur_totals(10000, 0, 10000, False),
            id="a line not yet started counts for nothing",
        ),
        pytest.param(
            [base(), programme()],
            MEZZANINE_END,
            eur_totals(15000, 0, 15000, False),
            id="on its last day a line still counts",
        ),
    ],
)
def test_totals(lines, day, expected):
    assert totals(lines, day) == expected
