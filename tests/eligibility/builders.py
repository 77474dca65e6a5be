"""Line states for the pure-core tables: amounts in EUR, converted to minor units here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from creditlines.eligibility import LineState

DAY = date(2026, 3, 2)  # the suite's default local date at Actebis (Paris)
MEZZANINE_END = date(2026, 6, 30)


def cents(amount: str | int) -> int:
    return int(Decimal(str(amount)) * 100)


def base(
    limit: str | int = "10000",
    drawn: str | int = "0",
    *,
    status: str = "active",
    grant_seq: int = 0,
    line_id: str = "base",
) -> LineState:
    return LineState(
        id=line_id,
        kind="base",
        funder="actebis",
        programme_id=None,
        vendor_id=None,
        usable_for="any",
        on_expiry=None,
        status=status,
        limit=cents(limit),
        drawn=cents(drawn),
        valid_from=date(2025, 1, 1),
        valid_until=None,
        grant_seq=grant_seq,
    )


def programme(
    line_id: str = "mezzanine",
    limit: str | int = "5000",
    drawn: str | int = "0",
    *,
    vendor: str = "microsoft",
    until: date | None = MEZZANINE_END,
    valid_from: date = date(2026, 1, 1),
    grant_seq: int = 1,
    usable_for: str = "any",
    on_expiry: str = "transfer_to_base",
    status: str = "active",
) -> LineState:
    return LineState(
        id=line_id,
        kind="programme",
        funder=vendor,
        programme_id=f"{line_id}@actebis",
        vendor_id=vendor,
        usable_for=usable_for,
        on_expiry=on_expiry,
        status=status,
        limit=cents(limit),
        drawn=cents(drawn),
        valid_from=valid_from,
        valid_until=until,
        grant_seq=grant_seq,
    )
