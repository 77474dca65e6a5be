"""How the console shows amounts and dates to people, and reads the amounts they type.

Amounts in the locale of the console (``CREDITLINES_LOCALE``, fr_FR by default: ``10 500,00 €``,
through the library's ``for_people``); instants as local dates and times in the distributor's
time zone. A typed amount accepts the locale's way (``7 500,50``) or the plain one (``7500.50``)
and then goes through the library's ``parse_amount``: exact, in the distributor's currency."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from moneyed import Money

from console import library as lib

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def locale() -> str:
    return lib.get_settings().locale


def money(value: Money | None) -> str:
    return "" if value is None else lib.for_people(value, locale())


def minor(value: int | None, currency: str) -> str:
    return "" if value is None else money(lib.from_minor(value, currency))


def amount(text: str, currency: str) -> str:
    """A plain decimal amount of the library (``"120.00"``) for people."""
    return money(Money(Decimal(text), currency))


def number(value: int) -> str:
    return format_decimal(value, locale=locale())


def day(value: date | None) -> str:
    return "" if value is None else format_date(value, format="medium", locale=locale())


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def cell(name: str, value: object) -> str:
    """A listing's text cell for people: a date field's ISO date (``valid_until``: ``2026-06-30``)
    as a local date, the rest as it is — an id or a name that looks like a date stays itself.
    (The CSV keeps the library's plain text.)"""
    text = "" if value is None else str(value)
    if name.endswith(("_until", "_on", "_from", "_date")) and _ISO_DAY.fullmatch(text):
        try:
            return day(date.fromisoformat(text))
        except ValueError:
            return text
    return text


def instant(value: datetime | None, timezone: str) -> str:
    """A local date as :func:`day` writes it, then the local time: ``2 mars 2026 10:00`` (the
    same date on the ledger as on the lines, never ``02/03/2026`` beside ``2 mars 2026``)."""
    if value is None:
        return ""
    zone = ZoneInfo(timezone)
    local = value.astimezone(zone)
    return f"{day(local.date())} {format_time(local, format='short', tzinfo=zone, locale=locale())}"


def parse_money(text: str, currency: str, *, allow_zero: bool = False) -> Money:
    """What a person typed, as exact Money in ``currency``, or the library's refusal."""
    raw = _SPACES.sub("", text or "")
    if raw.endswith(("€", currency)):
        raw = raw.removesuffix("€").removesuffix(currency)
    decimal_mark = get_decimal_symbol(locale())
    group = get_group_symbol(locale())
    if decimal_mark == "," and "." not in raw:
        raw = raw.replace(",", ".")
    elif group not in (" ", "\u00a0", "\u202f"):
        raw = raw.replace(group, "") if raw.count(decimal_mark) <= 1 else raw
    if len(raw) > 40:
        raise lib.ValidationFailed("amount is too long")
    return lib.parse_amount(raw, currency, expected_currency=currency, allow_zero=allow_zero)


def plain(value: Money) -> str:
    """An amount as a form field shows it back (``7500,00`` in fr_FR)."""
    return format_decimal(Decimal(value.amount), format="0.00", locale=locale())
