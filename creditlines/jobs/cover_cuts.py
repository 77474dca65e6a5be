"""The nightly step that applies scheduled insurer cuts to base limits (SPEC §19).

The cap follows a scheduled cut from its date at read time (``policy.insured_cap``); this step
materialises the base limit: one transaction per distributor, retried like a batch, idempotent.
"""

from __future__ import annotations

from datetime import date

from creditlines.db.engine import UnitOfWork
from creditlines.db.retry import retry_transient
from creditlines.decisions import insurance


def apply_scheduled_cuts(
    uow: UnitOfWork, distributor_id: str, day: date, *, actor: str, dry_run: bool = False
) -> list[str]:
    """Lower the base limits that a cut in force on ``day`` caps; returns the resellers cut."""

    @retry_transient
    def run() -> list[str]:
        with uow.write() as s:
            cut = insurance.apply_due_cuts(s, distributor_id=distributor_id, day=day, actor=actor)
            if dry_run:
                s.rollback()
        return cut

    return run()
