"""Enrolment in a standing programme: each reseller granted its line, nominated for the
distributor's approval, or told why not (the outcomes of ``grants.GrantResult``)."""

from __future__ import annotations

from moneyed import Money
from sqlalchemy.orm import Session

from creditlines import clock, metrics
from creditlines.errors import InvalidAmount, ProgrammeClosed, ValidationFailed
from creditlines.ledger import repository as ledger_repo
from creditlines.money import amount_str
from creditlines.partnerships import service as partnerships
from creditlines.programmes import nominations
from creditlines.programmes import repository as repo
from creditlines.programmes.grants import GrantResult, budget_allows, grant
from creditlines.programmes.service import checked_minor, get_programme, split_programme_id
from creditlines.tenants import lookup


def enrol(
    session: Session,
    *,
    vendor_id: str,
    programme_id: str,
    resellers: list[tuple[str, Money | None]],
    actor: str,
) -> list[GrantResult]:
    """Enrol resellers in a standing programme; an outcome per reseller, in the order given.

    Nothing about the distributor's resellers is answered unless the distributor admitted the
    vendor and the partnership is active."""
    _code, distributor_id = split_programme_id(programme_id)
    partnership = partnerships.require_admitted(session, distributor_id=distributor_id, vendor_id=vendor_id)
    programme = get_programme(
        session, vendor_id=vendor_id, programme_id=programme_id, lock=True, check_partnership=False
    )
    if programme.kind != "standing":
        raise ValidationFailed(
            "only standing programmes take enrolments; purchase-triggered lines come from purchase events"
        )
    if programme.status == "closed":
        raise ProgrammeClosed(f"programme {programme_id!r} is closed: it grants nothing more")
    if not resellers or len(resellers) > 1000:
        raise ValidationFailed("enrol 1 to 1,000 resellers per request")
    if len({r for r, _ in resellers}) != len(resellers):
        raise ValidationFailed("a reseller appears twice in the request")
    distributor = lookup.require_distributor(session, programme.distributor_id)
    limits: dict[str, int] = {}
    for reseller_id, limit in resellers:
        minor = programme.line_limit_minor if limit is None else checked_minor(limit, distributor, "limit")
        if minor > programme.line_limit_minor:
            raise InvalidAmount(
                f"{reseller_id}: limit above the programme's line_limit "
                f"{amount_str(programme.line_limit_minor, distributor.currency)}"
            )
        partnerships.check_line_limit(partnership, minor, distributor.currency, f"{reseller_id}: limit")
        limits[reseller_id] = minor
    day = clock.local_today(distributor.timezone)
    outcomes: dict[str, GrantResult] = {}
    for reseller_id in sorted(limits):  # lock order: by reseller id
        reseller = ledger_repo.get_reseller(session, programme.distributor_id, reseller_id, lock=True)
        if reseller is None:
            outcomes[reseller_id] = GrantResult(
                reseller_id, "unknown_reseller", "no such reseller at this distributor", None
            )
        elif reseller.status == "terminated":
            outcomes[reseller_id] = GrantResult(reseller_id, "not_eligible", "reseller terminated", None)
        elif day > programme.ends_on:
            outcomes[reseller_id] = GrantResult(reseller_id, "not_eligible", "programme ended", None)
        elif (line := repo.active_line_of(session, programme, reseller_id, day)) is not None:
            outcomes[reseller_id] = GrantResult(reseller_id, "already_granted", None, line)
        elif not budget_allows(session, programme, day, limits[reseller_id]):
            outcomes[reseller_id] = GrantResult(reseller_id, "budget_exhausted", None, None)
        elif partnership.requires_approval:  # the distributor decides (SPEC §12)
            outcomes[reseller_id] = nominations.nominate(
                session, programme, reseller, limit_minor=limits[reseller_id], actor=actor
            )
        else:
            line = grant(
                session,
                programme,
                reseller,
                limit_minor=limits[reseller_id],
                valid_from=max(day, programme.starts_on),
                valid_until=programme.ends_on,
                actor=actor,
                reason=f"enrolled in {programme.id}",
            )
            outcomes[reseller_id] = GrantResult(reseller_id, "granted", None, line)
    for result in outcomes.values():
        metrics.GRANTS.labels(programme.id, result.outcome).inc()
    return [outcomes[reseller_id] for reseller_id, _ in resellers]
