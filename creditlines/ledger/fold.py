"""Ledger entries folded back into balances: the one definition used by `verify` (to prove the
stored balances) and by availability at a past instant (to show them as they stood)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from creditlines.ledger.models import LedgerEntry


@dataclass
class FoldedLine:
    drawn: int = 0
    limit: int | None = None
    valid_until: date | None = None
    status: str | None = None


@dataclass
class Folded:
    status: str | None = None  # the reseller's
    last_seq: int = 0
    lines: dict[str, FoldedLine] = field(default_factory=dict)


def fold(entries: Iterable[LedgerEntry]) -> Folded:
    """Fold one reseller's entries, in sequence order."""
    result = Folded()
    for entry in entries:
        result.last_seq = entry.seq
        if entry.line_id is None:
            if entry.status_after:
                result.status = entry.status_after
            continue
        line = result.lines.setdefault(entry.line_id, FoldedLine())
        if entry.drawn_delta_minor:
            line.drawn += entry.drawn_delta_minor
        if entry.limit_after_minor is not None:
            line.limit = entry.limit_after_minor
        if entry.valid_until_after is not None:
            line.valid_until = entry.valid_until_after
        if entry.status_after:
            line.status = entry.status_after
    return result
