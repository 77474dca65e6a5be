"""Sums of many largest amounts (review of issue 20): the ERP's key may open financings of up to
100,000,000,000,000.00 each, as many as it likes; the totals must still never answer a 5xx."""

from __future__ import annotations

from moneyed import Money

from creditlines.ledger import financing
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1"
LARGEST = "100000000000000.00"  # MAX_MINOR (10**16) in cents


def test_a_thousand_largest_financings_break_no_total(api):
    assert api.put(R, json={"name": "R-1"}).status_code == 201
    assert api.put(R + "/base-limit", json={"limit": eur("10000.00"), "reason": "open"}).status_code == 200
    one = {"reference": "F-0", "financier": "msf", "amount": eur(LARGEST), "order_reference": "SO-0"}
    assert api.post(R + "/financings", who="integration", json=one).status_code == 201
    with api.uow.write() as s:  # the same call the endpoint makes, 1,000 times (2**63 cents is 922 of them)
        for i in range(1, 1000):
            financing.create_financing(
                s,
                distributor_id="actebis",
                reseller_id="R-1",
                reference=f"F-{i}",
                financier="msf",
                amount=Money(LARGEST, "EUR"),
                order_reference=f"SO-{i}",
                actor="test",
            )
    failures = []
    for path in (
        R,
        R + "/availability",
        D + "/resellers",
        D + "/held-orders",
        D + "/reports/financings?since=2026-01-01",
        D + "/reports/over-limit",
        D + "/events?limit=500",
    ):
        answer = api.get(path)
        if answer.status_code >= 500:
            failures.append((path, answer.status_code))
    drawn = api.post(R + "/drawings", who="integration", json={"reference": "SO-5", "amount": eur("1.00")})
    if drawn.status_code >= 500:
        failures.append(("POST drawing", drawn.status_code))
    assert failures == []
