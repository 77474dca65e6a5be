"""SPEC §4: base first, then programme lines by earliest ``valid_until``, then oldest grant."""

from __future__ import annotations

from datetime import date
from itertools import permutations

import pytest

from creditlines.eligibility import waterfall_key

from .builders import base, programme

CASES = [
    pytest.param(
        [base(grant_seq=9), programme("mezzanine", grant_seq=1)],
        ["base", "mezzanine"],
        id="base first even when it was granted after the programme line",
    ),
    pytest.param(
        [base(), programme("mezzanine", until=date(2026, 6, 30)), programme("oem", until=date(2026, 5, 14))],
        ["base", "oem", "mezzanine"],
        id="programme lines by earliest valid_until",
    ),
    pytest.param(
        [programme("older", grant_seq=2), programme("newer", grant_seq=7)],
        ["older", "newer"],
        id="same valid_until: oldest grant first",
    ),
    pytest.param(
        [
            programme("old-but-late", until=date(2026, 12, 31), grant_seq=1),
            programme("new-but-early", until=date(2026, 4, 30), grant_seq=8),
        ],
        ["new-but-early", "old-but-late"],
        id="an earlier valid_until beats an older grant",
    ),
    pytest.param(
        [programme("open-ended", until=None, grant_seq=1), programme("dated", grant_seq=2), base()],
        ["base", "dated", "open-ended"],
        id="a programme line without valid_until comes after every dated one",
    ),
    pytest.param(
        [
            programme("hp-any", vendor="hp", grant_seq=3),
            programme("ms-vendor-only", usable_for="vendor_products", grant_seq=2),
            base(),
        ],
        ["base", "ms-vendor-only", "hp-any"],
        id="the funder and usable_for play no part in the order",
    ),
]


@pytest.mark.parametrize("lines, expected", CASES)
def test_waterfall_order(lines, expected):
    # Every input order sorts the same way: the key alone decides, not the sort's stability.
    for arrangement in permutations(lines):
        assert [line.id for line in sorted(arrangement, key=waterfall_key)] == expected
