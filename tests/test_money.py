from decimal import Decimal

import pytest
from moneyed import Money

from creditlines.errors import CurrencyMismatch, InvalidAmount, ValidationFailed
from creditlines.money import amount_str, from_minor, minor_digits, parse_amount, to_minor


def test_minor_units_follow_the_currency():
    assert (minor_digits("EUR"), minor_digits("JPY"), minor_digits("BHD")) == (2, 0, 3)


def test_the_largest_realistic_amount_round_trips_exactly():
    money = parse_amount("999999999999.99", "EUR", expected_currency="EUR")
    assert to_minor(money) == 99_999_999_999_999
    assert from_minor(99_999_999_999_999, "EUR") == Money("999999999999.99", "EUR")
    assert amount_str(99_999_999_999_999, "EUR") == "999999999999.99"


def test_yen_have_no_decimals():
    assert to_minor(parse_amount("5000", "JPY", expected_currency="JPY")) == 5000
    assert amount_str(5000, "JPY") == "5000"
    with pytest.raises(InvalidAmount):
        parse_amount("5000.5", "JPY", expected_currency="JPY")


@pytest.mark.parametrize(
    "bad", ["1.001", "100.000", "NaN", "Infinity", "1e3", "-5.00", "0", "0.00", " 1", "1.", ".5", "", "1_000"]
)
def test_inexact_or_non_positive_amounts_are_refused(bad):
    with pytest.raises(InvalidAmount):
        parse_amount(bad, "EUR", expected_currency="EUR")


@pytest.mark.parametrize("bad", [1.5, 100, True, None, ["1"]])
def test_numbers_are_not_amounts_in_the_api(bad):
    # ints come only from trusted code paths; the JSON layer only ever passes strings
    if isinstance(bad, int) and not isinstance(bad, bool):
        assert to_minor(parse_amount(bad, "EUR", expected_currency="EUR")) == 10000
        return
    with pytest.raises(InvalidAmount):
        parse_amount(bad, "EUR", expected_currency="EUR")


def test_another_currency_than_the_distributors_is_refused():
    with pytest.raises(CurrencyMismatch):
        parse_amount("10.00", "USD", expected_currency="EUR")


def test_amounts_beyond_the_cap_are_refused():
    with pytest.raises(InvalidAmount):
        parse_amount("100000000000000.01", "EUR", expected_currency="EUR")


def test_conversion_never_truncates():
    with pytest.raises(InvalidAmount):
        to_minor(Money(Decimal("1.005"), "EUR"))


def test_unknown_currencies_are_refused():
    with pytest.raises(ValidationFailed):
        minor_digits("XYZ")


def test_one_shape_of_money_in_json() -> None:
    """API answers, problem details, events and the CLI's --json all write money through money_json."""
    from api.schemas.common import MoneyOut
    from creditlines.money import from_minor, money_json

    assert money_json(500000, "EUR") == {"amount": "5000.00", "currency": "EUR"}
    assert money_json(5, "JPY") == {"amount": "5", "currency": "JPY"}
    assert money_json(-1, "EUR") == {"amount": "-0.01", "currency": "EUR"}
    expected = {"amount": "1.23", "currency": "EUR"}
    assert MoneyOut.of_minor(123, "EUR").model_dump() == MoneyOut.of(from_minor(123, "EUR")).model_dump() == expected
