"""Calendar arithmetic of the domain, in one place."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def add_months_clamped(start: date, months: int) -> date:
    """``start`` + ``months`` calendar months, clamped to the end of the target month
    (``relativedelta`` clamps: 2026-01-31 + 1 → 2026-02-28)."""
    return start + relativedelta(months=months)


def months_validity_end(start: date, months: int) -> date:
    """Last valid day (inclusive) of a line valid for ``months`` months from ``start``.

    SPEC §3: from D through (D + N calendar months, clamped to the end of month) − 1 day.
    2026-01-15 + 6 → 2026-07-14; 2026-08-31 + 6 → 2027-02-27.
    """
    if months < 1:
        raise ValueError("a duration is at least one month")
    return add_months_clamped(start, months) - timedelta(days=1)
