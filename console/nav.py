"""What the console offers each kind of key: the navigation and the listings.

Pages built elsewhere slot in by adding an entry here and including their router in
``console.web.create_console`` (limit requests, nominations and insurer cover, SPEC §12:
``NavItem("Limit requests", "/distributors/{d}/limit-requests", ("credit_officer",))``, a
``Listing("cover-cuts", …)``, and the templates ``reseller/_cover.html``,
``reseller/_limit_extra.html`` and ``programme/_nominations.html`` that the reseller and
programme pages include when they exist)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from console import library as lib


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str  # formatted with d (distributor) and v (vendor)
    roles: tuple[str, ...]


NAV: list[NavItem] = [
    NavItem("Resellers", "/distributors/{d}/resellers", ("credit_officer",)),
    NavItem("Limit requests", "/distributors/{d}/limit-requests", ("credit_officer",)),
    NavItem("Policy requests", "/distributors/{d}/policy-requests", ("credit_officer",)),
    NavItem("Nominations", "/distributors/{d}/nominations", ("credit_officer",)),
    NavItem("Listings", "/distributors/{d}/listings", ("credit_officer",)),
    NavItem("Claims", "/distributors/{d}/claims", ("credit_officer",)),
    NavItem("Programmes", "/vendors/{v}/programmes", ("partner_manager",)),
    NavItem("Claims and statements", "/vendors/{v}/claims", ("partner_manager",)),
]


def nav_for(principal: lib.Principal) -> list[tuple[str, str]]:
    return [
        (item.label, "/console" + item.path.format(d=principal.distributor_id, v=principal.vendor_id))
        for item in NAV
        if principal.role in item.roles
    ]


@dataclass(frozen=True)
class Listing:
    slug: str
    title: str
    description: str
    fields: list[str]
    rows: Callable[..., Iterator[Any]]  # (session, distributor_id=, within_days=) -> rows
    takes_days: bool = False


def _expiring(session: Session, *, distributor_id: str, within_days: int) -> Iterator[Any]:
    return lib.expiring(session, distributor_id=distributor_id, within_days=within_days)


def _over_limit(session: Session, *, distributor_id: str, within_days: int) -> Iterator[Any]:
    return lib.over_limit(session, distributor_id=distributor_id)


def _cover_cuts(session: Session, *, distributor_id: str, within_days: int) -> Iterator[Any]:
    """Cuts decided within the last ``within_days`` local days (the report's ``since``)."""
    from datetime import timedelta

    today = lib.clock.local_today(lib.require_distributor(session, distributor_id).timezone)
    return lib.cover_cuts(session, distributor_id=distributor_id, since=today - timedelta(days=within_days))


def _held_orders(session: Session, *, distributor_id: str, within_days: int) -> Iterator[Any]:
    return iter(lib.held_listing(session, distributor_id=distributor_id))


LISTINGS: dict[str, Listing] = {
    "held-orders": Listing(
        "held-orders",
        "Held orders",
        "Orders waiting for credit, oldest first, with what each lacks now. Each is posted by itself "
        "when a payment, a raise, a vendor line or a lifted hold makes room, or expires after the "
        "distributor's hold days.",
        lib.HELD_FIELDS,
        _held_orders,
    ),
    "expiring": Listing(
        "expiring",
        "Lines expiring",
        "Vendor lines that end within the coming days.",
        lib.EXPIRING_FIELDS,
        _expiring,
        takes_days=True,
    ),
    "over-limit": Listing(
        "over-limit",
        "Over limit",
        "Resellers whose drawn amount is above the limit of their current lines, largest excess first.",
        lib.OVER_LIMIT_FIELDS,
        _over_limit,
    ),
    "cover-cuts": Listing(
        "cover-cuts",
        "Cover cuts",
        "Resellers whose insurer cover was cut in the last days "
        "and is still below what it was: cover before and after, base limit, drawn, vendor lines "
        "— the list to share when a vendor asks whom to help.",
        lib.COVER_CUT_FIELDS,
        _cover_cuts,
        takes_days=True,
    ),
}
