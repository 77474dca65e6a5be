"""The reseller's journal: the only writer of ledger entries in Python, and their listing.

(The drawing function ``creditlines_draw`` on PostgreSQL writes its own two kinds,
``drawing_posted`` and ``drawing_allocated``, inside its one statement.)

Every change of a balance, a status or a decision appends here, in the transaction of the change,
under the reseller's lock: :func:`append` for one entry (the services), :class:`Batch` for many
written set-wise (the nightly expiry, bulk imports, the demo's history). Each entry takes the
next number of the reseller's ``ledger_seq``; nothing is ever updated or deleted.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy.orm import Session

from creditlines.db import bulk
from creditlines.ledger import repository as repo
from creditlines.ledger.models import LedgerEntry, Reseller
from creditlines.ledger.repository import require_reseller
from creditlines.tenants.lookup import require_distributor


class EntryKind(StrEnum):
    """Every kind of ledger entry; the stored value is the string, so rows never change.

    Entries that move a balance carry a ``line_id`` and what changed on it (the fold reads the
    columns, not the kind); the others record a decision or a status with its actor."""

    RESELLER_CREATED = "reseller_created"
    RESELLER_RENAMED = "reseller_renamed"
    RESELLER_TERMINATED = "reseller_terminated"
    HOLD_PLACED = "hold_placed"
    HOLD_LIFTED = "hold_lifted"
    LINE_OPENED = "line_opened"
    LIMIT_SET = "limit_set"
    LINE_VALID_UNTIL_SET = "line_valid_until_set"
    LINE_EXPIRED = "line_expired"
    LINE_REVOKED = "line_revoked"
    DRAWN_TRANSFERRED_OUT = "drawn_transferred_out"
    DRAWN_TRANSFERRED_IN = "drawn_transferred_in"
    DRAWING_POSTED = "drawing_posted"  # also written by creditlines_draw (creditlines/db/sql/)
    DRAWING_ALLOCATED = "drawing_allocated"  # idem
    RELEASE_POSTED = "release_posted"
    RELEASE_APPLIED = "release_applied"
    LIMIT_REQUESTED = "limit_requested"
    LIMIT_REQUEST_APPROVED = "limit_request_approved"
    LIMIT_REQUEST_REJECTED = "limit_request_rejected"
    LIMIT_REQUEST_EXPIRED = "limit_request_expired"
    LIMIT_REQUEST_SUPERSEDED = "limit_request_superseded"
    NOMINATION_CREATED = "nomination_created"
    NOMINATION_APPROVED = "nomination_approved"
    NOMINATION_REJECTED = "nomination_rejected"
    INSURANCE_SET = "insurance_set"
    # Losses (SPEC §20): a reseller declared in default, each allocation written off (a balance
    # change on its line, with the drawing and the write-off named), each claim opened and settled.
    RESELLER_DEFAULTED = "reseller_defaulted"
    WRITTEN_OFF = "written_off"
    CLAIM_OPENED = "claim_opened"
    CLAIM_SETTLED = "claim_settled"
    PAYMENT_TERMS_CHANGED = "payment_terms_changed"  # SPEC §18: a reseller's own terms set or removed


def append(
    session: Session,
    reseller: Reseller,
    *,
    kind: EntryKind | str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    line_id: str | None = None,
    drawing_reference: str | None = None,
    release_reference: str | None = None,
    amount_minor: int | None = None,
    drawn_delta_minor: int | None = None,
    limit_after_minor: int | None = None,
    valid_until_after: date | None = None,
    status_after: str | None = None,
    details: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Append one ledger entry; the reseller must be locked by the caller."""
    reseller.ledger_seq += 1
    entry = LedgerEntry(
        distributor_id=reseller.distributor_id,
        reseller_id=reseller.id,
        seq=reseller.ledger_seq,
        at=at,
        actor=actor,
        kind=EntryKind(kind).value,  # an unknown kind is a programming error, refused here
        reason=reason,
        line_id=line_id,
        drawing_reference=drawing_reference,
        release_reference=release_reference,
        amount_minor=amount_minor,
        drawn_delta_minor=drawn_delta_minor,
        limit_after_minor=limit_after_minor,
        valid_until_after=valid_until_after,
        status_after=status_after,
        details=json.dumps(details, sort_keys=True) if details else None,
    )
    session.add(entry)
    return entry


_COLUMNS = (
    "reason",
    "line_id",
    "drawing_reference",
    "release_reference",
    "amount_minor",
    "drawn_delta_minor",
    "limit_after_minor",
    "valid_until_after",
    "status_after",
)


def entry_row(
    distributor_id: str,
    reseller_id: str,
    seq: int,
    *,
    at: datetime,
    actor: str,
    kind: EntryKind | str,
    details: dict[str, Any] | None = None,
    **values: Any,
) -> dict[str, Any]:
    """One entry as a row for :func:`insert_rows`: what :func:`append` writes, for the set-wise
    writers that number entries themselves (from the reseller's ``ledger_seq``, under its lock)
    and store the new sequences with :func:`set_sequences` in the same transaction."""
    unknown = set(values) - set(_COLUMNS)
    if unknown:
        raise TypeError(f"not a ledger entry column: {', '.join(sorted(unknown))}")
    row: dict[str, Any] = dict.fromkeys(_COLUMNS)
    row.update(values)
    row.update(
        distributor_id=distributor_id,
        reseller_id=reseller_id,
        seq=seq,
        at=at,
        actor=actor,
        kind=EntryKind(kind).value,
        details=json.dumps(details, sort_keys=True) if details else None,
    )
    return row


def insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append many entries in one statement (rows from :func:`entry_row`)."""
    table = cast(Table, LedgerEntry.__table__)
    if bulk.usable(conn):  # PostgreSQL: one COPY
        bulk.insert_rows(conn, table, rows)
    elif rows:
        conn.execute(insert(table), rows)


def set_sequences(conn: Connection, distributor_id: str, sequences: dict[str, int]) -> None:
    """Store each reseller's last entry number after :func:`insert_rows`."""
    if not sequences:
        return
    table = cast(Table, Reseller.__table__)
    if bulk.usable(conn):  # PostgreSQL: one UPDATE … FROM unnest
        bulk.update_rows(
            conn,
            table,
            [{"distributor_id": distributor_id, "id": r, "ledger_seq": s} for r, s in sequences.items()],
            keys=["distributor_id", "id"],
            set_=("ledger_seq",),
        )
        return
    conn.execute(
        update(table)
        .where(table.c.distributor_id == bindparam("d"), table.c.id == bindparam("r"))
        .values(ledger_seq=bindparam("s")),
        [{"d": distributor_id, "r": r, "s": s} for r, s in sequences.items()],
    )


def ledger_entries(
    session: Session, *, distributor_id: str, reseller_id: str, after_seq: int | None, limit: int
) -> list[LedgerEntry]:
    """A page of the reseller's ledger, oldest first, after entry ``after_seq``."""
    require_distributor(session, distributor_id)
    require_reseller(session, distributor_id, reseller_id, lock=False)
    return repo.entries_of(session, distributor_id, reseller_id, after_seq=after_seq, limit=limit)
