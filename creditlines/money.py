"""Money at the edges: parse, validate minor units, convert to and from exact storage.

Inside the database every amount is an integer count of the currency's minor unit
(cents for EUR, yen for JPY). Conversions are exact: an amount with more decimals than
the currency allows is refused, never rounded or truncated.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache

from moneyed import Currency, Money, get_currency
from moneyed.classes import CurrencyDoesNotExist

from creditlines.errors import CurrencyMismatch, InvalidAmount, ValidationFailed

# Largest amount accepted anywhere, in minor units: far above any credit line, far below
# the 64-bit range so that sums over a reseller's lines cannot overflow a BIGINT.
MAX_MINOR = 10**16

_AMOUNT_RE = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$")

__all__ = [
    "Money",
    "MAX_MINOR",
    "currency",
    "minor_digits",
    "parse_amount",
    "to_minor",
    "from_minor",
    "amount_str",
    "zero",
]


@cache
def currency(code: str) -> Currency:
    """A known ISO 4217 currency with a decimal minor unit, or ``validation_error``."""
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
        raise ValidationFailed(f"currency {code!r} is not an ISO 4217 code")
    try:
        cur = get_currency(code)
    except CurrencyDoesNotExist:
        raise ValidationFailed(f"currency {code!r} is not an ISO 4217 code") from None
    sub_unit = cur.sub_unit
    if not sub_unit or sub_unit < 1 or 10 ** (len(str(sub_unit)) - 1) != sub_unit:
        raise ValidationFailed(f"currency {code!r} has no decimal minor unit")
    return cur


@cache
def minor_digits(code: str) -> int:
    """Number of decimals of the currency's minor unit: EUR 2, JPY 0, BHD 3."""
    return len(str(currency(code).sub_unit)) - 1


def parse_amount(
    amount: object,
    currency_code: object,
    *,
    expected_currency: str,
    allow_zero: bool = False,
) -> Money:
    """Turn an API/CLI amount into Money, refusing anything inexact.

    ``amount`` must be a decimal *string* (or a Decimal/int from trusted code); floats are
    refused outright. The currency must be ``expected_currency`` (the distributor's).
    """
    if isinstance(amount, bool) or isinstance(amount, float):
        raise InvalidAmount('amounts are decimal strings such as "5000.00", never numbers')
    if isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, str):
        if not _AMOUNT_RE.fullmatch(amount):
            raise InvalidAmount(f'{amount[:40]!r} is not a plain decimal amount such as "5000.00"')
        try:
            value = Decimal(amount)
        except InvalidOperation:  # pragma: no cover - the pattern already guarantees it
            raise InvalidAmount(f"{amount!r} is not a decimal amount") from None
    else:
        raise InvalidAmount("amount must be a decimal string")
    if not value.is_finite():
        raise InvalidAmount("amount must be a finite decimal")
    if not isinstance(currency_code, str):
        raise CurrencyMismatch(f"currency must be {expected_currency}")
    if currency_code != expected_currency:
        raise CurrencyMismatch(
            f"currency {currency_code[:10]!r} is not this distributor's currency {expected_currency}",
            expected=expected_currency,
        )
    digits = minor_digits(expected_currency)
    exponent = value.as_tuple().exponent  # as written: "100.000" carries three decimals
    if isinstance(exponent, int) and -exponent > digits:
        raise InvalidAmount(f"{expected_currency} amounts have at most {digits} decimals, got {amount}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidAmount("amount must be positive" if not allow_zero else "amount must not be negative")
    money = Money(value, expected_currency)
    if to_minor(money) > MAX_MINOR:
        raise InvalidAmount(f"amount {amount} is beyond the largest accepted amount")
    return money


def to_minor(money: Money) -> int:
    """Exact integer minor units. Raises rather than truncating (unlike get_amount_in_sub_unit)."""
    digits = minor_digits(money.currency.code)
    scaled = money.amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{money.amount} has more decimals than {money.currency.code} allows")
    return int(scaled)


def from_minor(minor: int, currency_code: str) -> Money:
    digits = minor_digits(currency_code)
    return Money(Decimal(int(minor)).scaleb(-digits), currency_code)


def amount_str(minor: int, currency_code: str) -> str:
    """The canonical JSON string of an amount: exactly the currency's minor digits."""
    digits = minor_digits(currency_code)
    value = Decimal(int(minor)).scaleb(-digits)
    return f"{value:.{digits}f}"


def money_json(minor: int, currency_code: str) -> dict[str, str]:
    """The one shape of an amount in JSON, wherever it is written (API answers, problem details,
    events and webhooks, ``--json`` of the CLI): ``{"amount": "5000.00", "currency": "EUR"}``."""
    return {"amount": amount_str(minor, currency_code), "currency": currency_code}


def zero(currency_code: str) -> Money:
    return Money(Decimal(0), currency_code)


def for_people(money: Money, locale: str = "fr_FR") -> str:
    """An amount as a person reads it in ``locale``: ``5 000,00 €`` in fr_FR."""
    from moneyed.l10n import format_money

    return format_money(money, locale=locale)
