"""The input rules of SPEC §15, in one place: the API's schemas and the services both use them.

* **Identifiers** (resellers, vendors, distributors, event ids, key ids): ``[A-Za-z0-9._:@-]``.
  Distributor, vendor and reseller ids are stored in 64-character columns, so they are 1–64
  characters; event ids 1–100. Distributor ids and programme codes leave out ``@``: a programme id
  is ``<code>@<distributor_id>`` and must read one way only.
* **References** of drawings and releases: the identifier alphabet plus ``/`` and ``#`` (French
  invoice numbers, ``FA/2026/0042``), 1–100 characters. In a path they are percent-encoded
  (``FA%2F2026%2F0042``); :func:`path_reference` decodes what ``api.edge.EncodedSlashes`` kept.
* **Free text** (names, reasons, labels, categories): no control character (C0 with NUL, DEL, C1),
  no lone surrogate (it cannot be written as UTF-8), not blank, bounded.
* **Instants**: ISO 8601 with an offset, between 1900-01-01 and 2200-12-31 UTC
  (:func:`creditlines.clock.parse_instant`); **days** in the same range.

Every check is a compiled regular expression or a comparison: the hot paths pay microseconds.
The pydantic types carry the same patterns, so /openapi.json documents them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from creditlines import clock
from creditlines.errors import CurrencyMismatch, ValidationFailed
from creditlines.money import Money, to_minor

ID_MAX = 64  # distributor, vendor and reseller id columns
EVENT_ID_MAX = 100
REFERENCE_MAX = 100
KEY_ID_MAX = 32

IDENTIFIER_PATTERN = rf"^[A-Za-z0-9._:@-]{{1,{ID_MAX}}}$"
TENANT_ID_PATTERN = rf"^[A-Za-z0-9._:-]{{1,{ID_MAX}}}$"  # distributor ids and programme codes: no "@"
PROGRAMME_ID_PATTERN = rf"^[A-Za-z0-9._:-]{{1,{ID_MAX}}}@[A-Za-z0-9._:-]{{1,{ID_MAX}}}$"
EVENT_ID_PATTERN = rf"^[A-Za-z0-9._:@-]{{1,{EVENT_ID_MAX}}}$"
KEY_ID_PATTERN = rf"^[A-Za-z0-9._:@-]{{1,{KEY_ID_MAX}}}$"
REFERENCE_PATTERN = rf"^[A-Za-z0-9._:@/#-]{{1,{REFERENCE_MAX}}}$"
# Free text: no C0 (NUL included), DEL or C1 character, and something besides spaces.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f\s][^\x00-\x1f\x7f-\x9f]*$"

NAME_MAX, REASON_MAX, LABEL_MAX, CATEGORY_MAX = 200, 500, 200, 100

MIN_DAY, MAX_DAY = date(1900, 1, 1), date(2200, 12, 31)

_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
_KEY_ID = re.compile(KEY_ID_PATTERN)
_REFERENCE = re.compile(REFERENCE_PATTERN)
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


# ----------------------------------------------------------------- predicates (no exception)


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def is_tenant_id(value: object) -> bool:
    return isinstance(value, str) and _TENANT_ID.fullmatch(value) is not None


def is_reference(value: object) -> bool:
    return isinstance(value, str) and _REFERENCE.fullmatch(value) is not None


def is_key_id(value: object) -> bool:
    return isinstance(value, str) and _KEY_ID.fullmatch(value) is not None


# ----------------------------------------------------------------- checks for the services


def _match(regex: re.Pattern[str], value: object, message: str) -> str:
    if not isinstance(value, str) or regex.fullmatch(value) is None:
        raise ValidationFailed(message)
    return value


def identifier(value: object, field: str) -> str:
    return _match(_IDENTIFIER, value, f"{field} must be 1 to {ID_MAX} of A-Z a-z 0-9 . _ : @ -")


def tenant_id(value: object, field: str) -> str:
    """A distributor id or a programme code: an identifier without ``@``."""
    return _match(_TENANT_ID, value, f"{field} must be 1 to {ID_MAX} of A-Z a-z 0-9 . _ : -")


def event_id(value: object, field: str = "event_id") -> str:
    return _match(_EVENT_ID, value, f"{field} must be 1 to {EVENT_ID_MAX} of A-Z a-z 0-9 . _ : @ -")


def reference(value: object, field: str = "reference") -> str:
    return _match(_REFERENCE, value, f"{field} must be 1 to {REFERENCE_MAX} of A-Z a-z 0-9 . _ : @ / # -")


def amount_minor(amount: Money, currency: str) -> int:
    """An amount in the distributor's ``currency``, as integer minor units (``currency_mismatch``)."""
    if amount.currency.code != currency:
        raise CurrencyMismatch(
            f"currency {amount.currency.code} is not this distributor's currency {currency}", expected=currency
        )
    return to_minor(amount)


def text(value: object, field: str, *, max_length: int = REASON_MAX) -> str:
    """Free text: 1 to ``max_length`` characters, not blank, no control character."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise ValidationFailed(f"{field} must be 1 to {max_length} characters, not blank")
    if _BAD_TEXT.search(value):
        raise ValidationFailed(f"{field} holds a control character")
    return value


def day(value: date, field: str) -> date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise ValidationFailed(f"{field} must be between {MIN_DAY} and {MAX_DAY}")
    return value


def instant(value: str, field: str) -> datetime:
    try:
        return clock.parse_instant(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field}: {exc}") from None


def path_reference(value: object) -> object:
    """A reference taken from a path: ``api.edge.EncodedSlashes`` left ``/`` as ``%2F`` (and ``%``
    as ``%25``) so the route could match; decode them here. Other values pass unchanged."""
    return unquote(value) if isinstance(value, str) and "%" in value else value


# ----------------------------------------------------------------- pydantic types (the API's schemas)


def _pydantic_day(value: date) -> date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise ValueError(f"must be between {MIN_DAY} and {MAX_DAY}")
    return value


def _text_type(max_length: int, min_length: int = 1) -> Any:
    """Lone surrogates are refused by pydantic itself (a str that is not valid Unicode)."""
    pattern = TEXT_PATTERN if min_length else r"^[^\x00-\x1f\x7f-\x9f]*$"
    return Annotated[str, StringConstraints(strict=True, min_length=min_length, max_length=max_length, pattern=pattern)]


Identifier = Annotated[str, StringConstraints(strict=True, pattern=IDENTIFIER_PATTERN)]
TenantId = Annotated[str, StringConstraints(strict=True, pattern=TENANT_ID_PATTERN)]
ProgrammeId = Annotated[str, StringConstraints(strict=True, pattern=PROGRAMME_ID_PATTERN)]
EventId = Annotated[str, StringConstraints(strict=True, pattern=EVENT_ID_PATTERN)]
KeyId = Annotated[str, StringConstraints(strict=True, pattern=KEY_ID_PATTERN)]
Reference = Annotated[str, StringConstraints(strict=True, pattern=REFERENCE_PATTERN)]
PathReference = Annotated[str, StringConstraints(pattern=REFERENCE_PATTERN), BeforeValidator(path_reference)]
Name = _text_type(NAME_MAX)
Reason = _text_type(REASON_MAX)
Label = _text_type(LABEL_MAX, min_length=0)
Category = _text_type(CATEGORY_MAX)
if TYPE_CHECKING:  # a string on the wire, an aware datetime once validated
    Instant = datetime
else:
    Instant = Annotated[
        str,
        StringConstraints(strict=True, max_length=40, pattern=r"^[0-9A-Za-z:.,+ -]+$"),
        AfterValidator(clock.parse_instant),
    ]
Day = Annotated[date, AfterValidator(_pydantic_day)]
