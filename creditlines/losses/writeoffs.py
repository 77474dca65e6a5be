"""Writing off a defaulted reseller's debt (SPEC §20): who bears each euro.

``write_off`` takes every allocation still outstanding on the drawings asked for (default: every
drawing with outstanding), under the reseller's lock, and for each appends a ``written_off``
ledger entry through the one journal writer (:mod:`creditlines.ledger.journal`): a balance change
on its line (``drawn_delta_minor`` negative) naming the drawing, with the write-off reference and
the funder in its details. The allocation and the drawing end at 0, the drawing ``written_off``.

The loss is the allocation's funder's: a programme line's vendor, a financing line's financier
(any line kind other than base and programme is treated as a financier's, by kind), the base
line's distributor — of which the **insured** part is claimed from the insurer. Base parts are
taken in invoice-date order (then drawing reference); each is insured up to the cover in force on
its invoice date (SPEC §19) less what earlier parts of this write-off already used of that same
cover decision. The claims themselves are built by :mod:`creditlines.losses.claims`.

Idempotent by ``reference``: the same body again answers the write-off as it was (``changed``
false); a different body → ``409 idempotency_conflict``. Two at once: the reseller's lock makes
the second wait and find the first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditlines import clock, validation
from creditlines.decisions import insurance, policy
from creditlines.errors import IdempotencyConflict, NotFound, NothingOutstanding, NotInDefault, ValidationFailed
from creditlines.events import outbox
from creditlines.events.types import EventType
from creditlines.ledger import journal
from creditlines.ledger import repository as repo
from creditlines.ledger.models import Drawing, Line
from creditlines.ledger.repository import require_reseller
from creditlines.losses import claims as claims_service
from creditlines.losses.models import Claim, ResellerDefault, WriteOff, WriteOffPart
from creditlines.tenants import lookup

MAX_DRAWINGS = 1000


def invoice_date_of(drawing: Drawing, tz: str) -> date:
    """The drawing's invoice date (SPEC §18): given by the ERP, or the local date it was posted
    (a released held order: the day of its release). ``tz`` is kept for the callers."""
    return drawing.invoice_date


def funder_kind_of(line: Line) -> str:
    """Who bears a loss on the line, by its kind: base → distributor, programme → vendor, any
    other kind (``financing``) → financier."""
    if line.kind == "base":
        return "distributor"
    if line.kind == "programme":
        return "vendor"
    return "financier"


@dataclass(frozen=True)
class WriteOffView:
    write_off: WriteOff
    parts: list[WriteOffPart]
    claims: list[Claim]

    @property
    def own_loss_minor(self) -> int:
        """The distributor's own loss: the base parts less what the insurer is claimed."""
        base = sum(p.amount_minor for p in self.parts if p.funder_kind == "distributor")
        return base - sum(c.amount_minor for c in self.claims if c.funder_kind == "insurer")


def _requested(drawings: list[str] | None) -> str | None:
    if drawings is None:
        return None
    if not isinstance(drawings, list) or not 1 <= len(drawings) <= MAX_DRAWINGS:
        raise ValidationFailed(f"drawings must list 1 to {MAX_DRAWINGS} drawing references")
    refs = [validation.reference(ref, "drawings[]") for ref in drawings]
    if len(set(refs)) != len(refs):
        raise ValidationFailed("a drawing appears twice in drawings")
    return json.dumps(sorted(refs), separators=(",", ":"))


def view(session: Session, write_off: WriteOff) -> WriteOffView:
    key = (write_off.distributor_id, write_off.reseller_id, write_off.reference)
    parts = session.scalars(
        select(WriteOffPart)
        .where(
            WriteOffPart.distributor_id == key[0],
            WriteOffPart.reseller_id == key[1],
            WriteOffPart.write_off_reference == key[2],
        )
        .order_by(WriteOffPart.invoice_date, WriteOffPart.drawing_reference, WriteOffPart.line_id)
    ).all()
    ordered = sorted(
        parts, key=lambda p: (p.invoice_date, p.drawing_reference, p.funder_kind != "distributor", p.funder, p.line_id)
    )
    return WriteOffView(write_off, ordered, claims_service.of_write_off(session, *key))


def write_off(
    session: Session,
    *,
    distributor_id: str,
    reseller_id: str,
    reference: str,
    reason: str,
    drawings: list[str] | None,
    actor: str,
) -> tuple[WriteOffView, bool]:
    """Write off the outstanding of a reseller in default; returns the write-off and whether it
    was created now (False: the same body was already recorded)."""
    distributor = lookup.require_distributor(session, distributor_id)
    reference = validation.reference(reference)
    reason = validation.text(reason, "reason")
    requested = _requested(drawings)
    reseller = require_reseller(session, distributor_id, reseller_id, lock=True)
    existing = session.get(WriteOff, (distributor_id, reseller_id, reference), populate_existing=True)
    if existing is not None:
        if (existing.reason, existing.requested) != (reason, requested):
            raise IdempotencyConflict(f"write-off {reference!r} was recorded with another body")
        return view(session, existing), False
    if session.get(ResellerDefault, (distributor_id, reseller_id), populate_existing=True) is None:
        raise NotInDefault(f"reseller {reseller_id!r} is not in default; declare the default first")
    rows = _drawings(session, distributor_id, reseller_id, requested)
    tz = distributor.timezone
    rows.sort(key=lambda d: (invoice_date_of(d, tz), d.reference))
    allocations = repo.allocations_of(session, distributor_id, reseller_id, [d.reference for d in rows])
    by_drawing: dict[str, list[Any]] = {}
    for alloc in allocations:
        if alloc.outstanding_minor > 0:
            by_drawing.setdefault(alloc.drawing_reference, []).append(alloc)
    lines = {line.id: line for line in repo.lines_of(session, distributor_id, reseller_id)}
    history = insurance.history(session, distributor_id=distributor_id, reseller_id=reseller_id)
    used: dict[int, int] = {}  # cover decision (seq) -> what earlier base parts used of it
    now = clock.now()
    header = WriteOff(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        reference=reference,
        reason=reason,
        requested=requested,
        amount_minor=sum(d.outstanding_minor for d in rows),
        created_at=now,
        created_by=actor,
    )
    session.add(header)
    session.flush()
    parts: list[WriteOffPart] = []
    for drawing in rows:
        invoiced = invoice_date_of(drawing, tz)
        written: list[dict[str, Any]] = []
        for alloc in by_drawing.get(drawing.reference, []):
            line = lines[alloc.line_id]
            amount, kind = alloc.outstanding_minor, funder_kind_of(line)
            insured, insurer, cover_seq = 0, None, None
            if kind == "distributor":
                cover = policy.in_force_in(history, invoiced)
                if cover is not None and cover.cover_minor > 0:
                    insured = max(0, min(amount, cover.cover_minor - used.get(cover.seq, 0)))
                    used[cover.seq] = used.get(cover.seq, 0) + insured
                    insurer, cover_seq = cover.insurer, cover.seq
            journal.append(
                session,
                reseller,
                kind=journal.EntryKind.WRITTEN_OFF,
                actor=actor,
                at=now,
                reason=reason,
                line_id=line.id,
                drawing_reference=drawing.reference,
                amount_minor=amount,
                drawn_delta_minor=-amount,
                details={"write_off": reference, "funder": line.funder, "funder_kind": kind, "insured_minor": insured},
            )
            line.drawn_minor -= amount
            alloc.outstanding_minor = 0
            part = WriteOffPart(
                distributor_id=distributor_id,
                reseller_id=reseller_id,
                write_off_reference=reference,
                drawing_reference=drawing.reference,
                line_id=line.id,
                line_kind=line.kind,
                funder_kind=kind,
                funder=line.funder,
                amount_minor=amount,
                invoice_date=invoiced,
                insured_minor=insured,
                insurer=insurer,
                cover_seq=cover_seq,
            )
            session.add(part)
            parts.append(part)
            written.append({"line_id": line.id, "funder": line.funder, "funder_kind": kind, "amount_minor": amount})
        outbox.record(
            session,
            EventType.DRAWING_WRITTEN_OFF,
            distributor_id=distributor_id,
            reseller_id=reseller_id,
            at=now,
            data={
                "reference": drawing.reference,
                "write_off": reference,
                "amount_minor": drawing.outstanding_minor,
                "invoice_date": invoiced.isoformat(),
                "allocations": written,
            },
        )
        drawing.outstanding_minor = 0
        drawing.status = "written_off"
    session.flush()
    claims_service.open_claims(
        session,
        reseller,
        write_off=header,
        parts=parts,
        vendor_of={line.id: line.vendor_id for line in lines.values()},
        rate_bp=policy.indemnity_rate_bp(session, distributor_id),
        actor=actor,
        at=now,
    )
    session.flush()
    return view(session, header), True


def _drawings(session: Session, distributor_id: str, reseller_id: str, requested: str | None) -> list[Drawing]:
    if requested is None:
        rows = list(
            session.scalars(
                select(Drawing)
                .where(
                    Drawing.distributor_id == distributor_id,
                    Drawing.reseller_id == reseller_id,
                    Drawing.outstanding_minor > 0,
                )
                .order_by(Drawing.reference)
            )
        )
        if not rows:
            raise NothingOutstanding(f"reseller {reseller_id!r} has no drawing with outstanding")
        return rows
    rows = []
    for ref in json.loads(requested):
        drawing = session.get(Drawing, (distributor_id, reseller_id, ref), populate_existing=True)
        if drawing is None:
            raise NotFound(f"drawing {ref!r} does not exist for reseller {reseller_id!r}")
        if drawing.outstanding_minor <= 0:
            raise NothingOutstanding(f"drawing {ref!r} has nothing outstanding ({drawing.status})", drawing=ref)
        rows.append(drawing)
    return rows


def list_write_offs(session: Session, *, distributor_id: str, reseller_id: str) -> list[WriteOffView]:
    lookup.require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    rows = session.scalars(
        select(WriteOff)
        .where(WriteOff.distributor_id == distributor_id, WriteOff.reseller_id == reseller_id)
        .order_by(WriteOff.created_at, WriteOff.reference)
    ).all()
    return [view(session, row) for row in rows]


def get_write_off(session: Session, *, distributor_id: str, reseller_id: str, reference: str) -> WriteOffView:
    lookup.require_distributor(session, distributor_id)
    row = session.get(WriteOff, (distributor_id, reseller_id, reference))
    if row is None:
        raise NotFound(f"write-off {reference!r} does not exist for reseller {reseller_id!r}")
    return view(session, row)
