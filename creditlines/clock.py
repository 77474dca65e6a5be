"""The one place that says what time it is.

``CREDITLINES_NOW`` (an ISO 8601 instant with its offset) fixes the clock for demos,
rehearsals and tests; :func:`frozen` does the same from code. Everything else in the
project asks :func:`now` and never reads the system clock itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None

# SPEC §15: instants between 1900-01-01 and 2200-12-31 (UTC); anything else is refused.
MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2201, 1, 1, tzinfo=UTC)  # exclusive
_INSTANT_CHARS = re.compile(r"[0-9A-Za-z:.,+ -]{1,40}")  # fromisoformat lets a trailing NUL through


def parse_instant(value: str) -> datetime:
    """Parse an ISO 8601 instant; an offset is required (a naive time is ambiguous) and it must
    fall between 1900-01-01 and 2200-12-31 UTC. Every refusal is a ``ValueError``."""
    if not isinstance(value, str) or _INSTANT_CHARS.fullmatch(value) is None:
        raise ValueError(f"instant {value!r} is not an ISO 8601 instant")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"instant {value!r} has no UTC offset")
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not MIN_INSTANT <= moment < MAX_INSTANT:
        raise ValueError(f"instant {value!r} is not between 1900-01-01 and 2200-12-31 UTC")
    return moment


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    if _frozen is not None:
        return _frozen
    fixed = os.environ.get("CREDITLINES_NOW")
    if fixed:
        return parse_instant(fixed)
    return datetime.now(UTC)


def is_fixed() -> bool:
    return _frozen is not None or bool(os.environ.get("CREDITLINES_NOW"))


@contextmanager
def frozen(moment: datetime | str) -> Iterator[None]:
    """Fix the clock inside a block (tests, rehearsals)."""
    global _frozen
    previous = _frozen
    _frozen = parse_instant(moment) if isinstance(moment, str) else _as_utc(moment)
    try:
        yield
    finally:
        _frozen = previous


def set_now(moment: datetime | str | None) -> None:
    """Fix (or with ``None`` release) the clock until further notice."""
    global _frozen
    if moment is None:
        _frozen = None
    else:
        _frozen = parse_instant(moment) if isinstance(moment, str) else _as_utc(moment)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are refused: give an offset")
    return moment.astimezone(UTC)


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of ``moment`` in the IANA time zone ``tz``."""
    return moment.astimezone(ZoneInfo(tz)).date()


def local_today(tz: str) -> date:
    return local_date(now(), tz)
