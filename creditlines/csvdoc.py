"""CSV documents of every report (listings, cover cuts, ageing, statements): one writer, cells
neutralised against formula injection, amounts kept as plain numbers. Core: imports nothing of
the domain, so every layer may use it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

AMOUNT = {"amount": True}  # field metadata: a column of plain decimal amounts, written to CSV as numbers

# OWASP "CSV injection": a cell a spreadsheet would read as a formula (or whose leading tab or
# carriage return hides one) is prefixed with a single quote, which shows it as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def csv_cell(value: object, *, amount: bool = False) -> str:
    """One CSV cell: amounts as plain numbers (``-120.00`` stays a number), text neutralised."""
    if value is None:
        return ""
    text = str(value)
    if amount and _PLAIN_AMOUNT.fullmatch(text):
        return text
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Iterable[Any], fields_: list[str]) -> str:
    """The one CSV writer of the reports (API ``Accept: text/csv`` and CLI ``--format csv``).

    Lines end with CRLF (RFC 4180), so a cell holding a carriage return or a newline is quoted."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields_)
    amounts: set[str] | None = None
    for row in rows:
        if amounts is None:
            amounts = {f.name for f in fields(row) if f.metadata.get("amount")}
        writer.writerow([csv_cell(getattr(row, name), amount=name in amounts) for name in fields_])
    return out.getvalue()
