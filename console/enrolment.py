"""Reading an enrolment list a partner manager pastes or uploads: one reseller a row,
``reseller_id`` then an optional limit, separated by ``;`` (French spreadsheets), ``,`` or a tab.
A header row whose first cell is ``reseller_id`` is skipped. Rows that cannot be read get their
own outcome and are not sent; the others go to the library's ``enrol`` as one request."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from moneyed import Money

from console import fmt
from console import library as lib

MAX_ROWS = 1000
MAX_ROW_CHARS = 400  # an id (100) and an amount, with room to spare; csv's own limit would be a 500


@dataclass(frozen=True)
class Row:
    number: int  # 1-based line of the input
    reseller_id: str
    limit: Money | None = None
    error: str | None = None


def decode(data: bytes) -> str:
    """UTF-16 with its BOM (Excel's "Unicode text"), UTF-8 (with or without its BOM), else
    Windows-1252: what spreadsheets save."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(line: str) -> str:
    for candidate in (";", "\t", ","):
        if candidate in line:
            return candidate
    return ";"


def parse(text: str, currency: str) -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    lines = text.splitlines()
    if len(lines) > MAX_ROWS + 1:
        raise lib.ValidationFailed(f"at most {MAX_ROWS} rows per enrolment")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_ROW_CHARS:
            rows.append(Row(number, line[:40], error=f"row too long (at most {MAX_ROW_CHARS} characters)"))
            continue
        cells = [c.strip() for c in next(csv.reader(io.StringIO(line), delimiter=_delimiter(line)), [])]
        if not cells or not cells[0]:
            rows.append(Row(number, "", error="no reseller id in this row"))
            continue
        if number == 1 and cells[0].lower() == "reseller_id":
            continue
        reseller_id = cells[0]
        if not lib.validation.is_identifier(reseller_id):
            rows.append(Row(number, reseller_id[:100], error="not a reseller id (letters, digits, . _ : @ -)"))
            continue
        if reseller_id in seen:
            rows.append(Row(number, reseller_id, error="this reseller is already in an earlier row"))
            continue
        if len(cells) > 2 and any(cells[2:]):
            rows.append(Row(number, reseller_id, error="a row holds a reseller id and at most a limit"))
            continue
        limit = None
        if len(cells) > 1 and cells[1]:
            try:
                limit = fmt.parse_money(cells[1], currency)
            except lib.CreditLinesError as exc:
                rows.append(Row(number, reseller_id, error=exc.detail))
                continue
        seen.add(reseller_id)
        rows.append(Row(number, reseller_id, limit))
    return rows
