"""Bodies of a reseller's ledger: entries, oldest first."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from api.schemas.common import MoneyOut


class LedgerEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    kind: str
    reason: str | None
    line_id: str | None
    drawing_reference: str | None
    release_reference: str | None
    amount: MoneyOut | None
    drawn_delta: MoneyOut | None
    limit_after: MoneyOut | None
    valid_until_after: date | None
    status_after: str | None
    details: dict[str, Any] | None


class LedgerPage(BaseModel):
    items: list[LedgerEntryOut]
    next_cursor: str | None
