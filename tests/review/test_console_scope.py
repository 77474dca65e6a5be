"""The console's pages added since the first version, reached by a second tenant's officer, a
vendor and the ERP's key (review of issue 20): every one refused, nothing changed."""

from __future__ import annotations

from typing import Any

from creditlines.ledger import repository
from tests.console.test_pages import sign_in

C = "/console/distributors/actebis"
PAGES = [
    C + "/policy-requests",
    C + "/limit-requests",
    C + "/nominations",
    C + "/resellers",
    C + "/resellers/R-1001",
    C + "/listings",
    C + "/listings/held-orders",
    C + "/listings/held-orders.csv",
    C + "/listings/over-limit.csv",
]
FORMS = [
    (C + "/policy-requests/pr_x/decision", {"decision": "approve", "reason": "x"}),
    (C + "/limit-requests/lr_x/decision", {"decision": "approve", "reason": "x"}),
    (C + "/nominations/nom_x/decision", {"decision": "approve", "reason": "x"}),
    (C + "/resellers/R-1001/insurance", {"insurer": "Coface", "cover": "1000000", "decided_on": "2026-03-01"}),
    (C + "/resellers/R-1001/base-limit", {"limit": "1000000", "reason": "x"}),
    (C + "/resellers/R-1001/held-orders/cancel", {"reference": "SO-1"}),
    (C + "/resellers/R-1001/hold", {"reason": "x"}),
    (C + "/resellers/R-1001/termination", {"reason": "x"}),
]


def test_other_tenants_vendors_and_the_erp_reach_no_new_console_page(console: Any) -> None:
    client, keys, uow = console
    with uow.read() as s:
        before = repository.require_reseller(s, "actebis", "R-1001", lock=False).status
    for who in ("officer_etc", "partner", "erp"):
        client.cookies.clear()
        signed = True
        try:
            token = sign_in(client, keys[who])
        except AssertionError:  # a key the console does not sign in at all
            signed = False
            token = ""
        for path in PAGES:
            status = client.get(path, follow_redirects=False).status_code
            assert status in ((403, 404) if signed else (303, 401, 403)), (who, path, status)
        for path, form in FORMS:
            status = client.post(path, data={"csrf": token, **form}, follow_redirects=False).status_code
            assert status in ((403, 404) if signed else (303, 401, 403)), (who, path, status)
    with uow.read() as s:
        assert repository.require_reseller(s, "actebis", "R-1001", lock=False).status == before
