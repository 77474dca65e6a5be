"""The losses checked against the ledger (SPEC §20): ``creditlines verify`` runs these after the
ledger's own checks (:func:`verify_all`).

* each write-off's amount = its parts = the ``written_off`` entries naming it, per drawing and line;
* the claims add up to the write-offs by funder: per write-off, one claim per vendor and financier
  for exactly what their lines lost, one per insurer for the insured base parts (× the rate the
  claim records), and nothing else;
* each claim has its ``claim_opened`` entry with its amount, and a settled claim its
  ``claim_settled`` entry with what was paid.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines.ledger.models import LedgerEntry
from creditlines.ledger.verify import Difference
from creditlines.ledger.verify import verify as verify_ledger
from creditlines.losses.claims import indemnity, split
from creditlines.losses.models import Claim, WriteOff, WriteOffPart

KINDS = ("written_off", "claim_opened", "claim_settled")


def verify_all(session: Session, *, distributor_id: str | None = None) -> list[Difference]:
    return verify_ledger(session, distributor_id=distributor_id) + list(verify_losses(session, distributor_id))


def _scoped(stmt: Any, column: Any, distributor_id: str | None) -> Any:
    return stmt.where(column == distributor_id) if distributor_id else stmt


def verify_losses(session: Session, distributor_id: str | None) -> Iterator[Difference]:
    write_offs = session.scalars(_scoped(select(WriteOff), WriteOff.distributor_id, distributor_id)).all()
    parts: dict[tuple[str, str, str], list[WriteOffPart]] = {}
    for part in session.scalars(_scoped(select(WriteOffPart), WriteOffPart.distributor_id, distributor_id)):
        parts.setdefault((part.distributor_id, part.reseller_id, part.write_off_reference), []).append(part)
    claims: dict[tuple[str, str, str], list[Claim]] = {}
    for claim in session.scalars(_scoped(select(Claim), Claim.distributor_id, distributor_id)):
        claims.setdefault((claim.distributor_id, claim.reseller_id, claim.write_off_reference), []).append(claim)
    written: dict[tuple[str, str, str], dict[tuple[str | None, str | None], int]] = {}
    opened: dict[tuple[str, str], list[int | None]] = {}
    settled: dict[tuple[str, str], list[int | None]] = {}
    entries = session.scalars(
        _scoped(select(LedgerEntry).where(LedgerEntry.kind.in_(KINDS)), LedgerEntry.distributor_id, distributor_id)
    )
    for entry in entries:
        details = json.loads(entry.details) if entry.details else {}
        if entry.kind == "written_off":
            key = (entry.distributor_id, entry.reseller_id, str(details.get("write_off")))
            per_line = written.setdefault(key, {})
            line_key = (entry.drawing_reference, entry.line_id)
            per_line[line_key] = per_line.get(line_key, 0) + (entry.amount_minor or 0)
        elif entry.kind == "claim_opened":
            opened.setdefault((entry.distributor_id, str(details.get("claim"))), []).append(entry.amount_minor)
        else:
            settled.setdefault((entry.distributor_id, str(details.get("claim"))), []).append(entry.amount_minor)
    for write_off in write_offs:
        key = (write_off.distributor_id, write_off.reseller_id, write_off.reference)
        yield from _check_write_off(write_off, parts.pop(key, []), written.pop(key, {}), claims.pop(key, []))
    for key in sorted(set(written) | set(parts) | set(claims)):
        yield Difference(key[0], f"write-off {key[1]}/{key[2]}", "exists", False, True)
    all_claims = session.scalars(_scoped(select(Claim), Claim.distributor_id, distributor_id)).all()
    for claim in all_claims:
        subject = f"claim {claim.id}"
        amounts = opened.pop((claim.distributor_id, claim.id), [])
        if amounts != [claim.amount_minor]:
            yield Difference(claim.distributor_id, subject, "amount vs ledger", claim.amount_minor, amounts or None)
        paid = settled.pop((claim.distributor_id, claim.id), [])
        expected = [] if claim.status == "open" else [claim.amount_paid_minor]
        if paid != expected:
            yield Difference(claim.distributor_id, subject, "settlement vs ledger", expected or None, paid or None)
    for d, claim_id in sorted(set(opened) | set(settled)):
        yield Difference(d, f"claim {claim_id}", "exists", False, True)


def _check_write_off(
    write_off: WriteOff,
    parts: list[WriteOffPart],
    written: dict[tuple[str | None, str | None], int],
    claims: list[Claim],
) -> Iterator[Difference]:
    d, subject = write_off.distributor_id, f"write-off {write_off.reseller_id}/{write_off.reference}"
    total = sum(p.amount_minor for p in parts)
    if total != write_off.amount_minor:
        yield Difference(d, subject, "amount vs parts", write_off.amount_minor, total)
    by_part = {(p.drawing_reference, p.line_id): p.amount_minor for p in parts}
    if by_part != written:
        yield Difference(d, subject, "parts vs ledger", sum(by_part.values()), sum(written.values()))
    rate = next((c.indemnity_rate_bp for c in claims if c.funder_kind == "insurer"), None)
    due = {(x.funder_kind, x.funder): (x.written_off, x.amount) for x in split(parts, {}, rate or 0)}
    stored = {}
    for claim in claims:
        amount = claim.amount_minor
        if claim.funder_kind == "insurer" and claim.indemnity_rate_bp is not None:
            expected_amount = indemnity(claim.written_off_minor, claim.indemnity_rate_bp)
            if expected_amount != amount:
                yield Difference(d, f"claim {claim.id}", "amount vs rate", amount, expected_amount)
        stored[(claim.funder_kind, claim.funder)] = (claim.written_off_minor, amount)
    for key in sorted(set(due) | set(stored)):
        if due.get(key) != stored.get(key):
            yield Difference(d, f"{subject} {key[0]} {key[1]}", "claim vs write-off", stored.get(key), due.get(key))
