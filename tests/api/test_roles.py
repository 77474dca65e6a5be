"""Every role × every endpoint: allowed, or 403 before anything is read or written."""

import pytest

from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1"
P = "/v1/vendors/microsoft/programmes"

ENDPOINTS = {
    "create distributor": (
        "POST",
        "/v1/distributors",
        {"id": "new-d", "name": "N", "currency": "EUR", "timezone": "Europe/Paris"},
    ),
    "create vendor": ("POST", "/v1/vendors", {"id": "new-v", "name": "N"}),
    "create key": ("POST", "/v1/api-keys", {"role": "integration", "distributor_id": "actebis"}),
    "list keys": ("GET", "/v1/api-keys", None),
    "revoke key": ("DELETE", "/v1/api-keys/0000000000000000", None),
    "put reseller": ("PUT", R, {"name": "R one"}),
    "list resellers": ("GET", D + "/resellers", None),
    "get reseller": ("GET", R, None),
    "base limit": ("PUT", R + "/base-limit", {"limit": eur("10.00"), "reason": "x"}),
    "place hold": ("POST", R + "/hold", {"reason": "x"}),
    "lift hold": ("DELETE", R + "/hold", None),
    "terminate": ("POST", D + "/resellers/R-2/termination", {"reason": "x"}),
    "availability": ("GET", R + "/availability", None),
    "eligibility": ("POST", R + "/eligibility", {"amount": eur("1.00")}),
    "post drawing": ("POST", R + "/drawings", {"reference": "SO-M", "amount": eur("1.00")}),
    "list drawings": ("GET", R + "/drawings", None),
    "get drawing": ("GET", R + "/drawings/SO-1", None),
    "post release": (
        "POST",
        R + "/drawings/SO-1/releases",
        {"reference": "P-M", "amount": eur("0.01"), "kind": "payment"},
    ),
    "ledger": ("GET", R + "/ledger", None),
    "create programme": (
        "POST",
        P,
        {
            "code": "other",
            "distributor_id": "actebis",
            "name": "Other",
            "kind": "standing",
            "line_limit": eur("100.00"),
            "starts_on": "2026-03-01",
            "ends_on": "2026-06-30",
        },
    ),
    "list programmes": ("GET", P, None),
    "get programme": ("GET", P + "/mezzanine@actebis", None),
    "patch programme": ("PATCH", P + "/mezzanine@actebis", {"name": "Mezzanine 2026"}),
    "enrol": ("POST", P + "/mezzanine@actebis/enrolments", {"resellers": [{"reseller_id": "R-1"}]}),
    "programme lines": ("GET", P + "/mezzanine@actebis/lines", None),
    "purchase event": (
        "POST",
        D + "/purchase-events",
        {
            "event_id": "EV-1",
            "reseller_id": "R-1",
            "vendor_id": "microsoft",
            "product_category": "office_oem",
            "amount": eur("1.00"),
            "occurred_at": "2026-03-02T09:00:00+01:00",
        },
    ),
    # Credit decisions (SPEC §12)
    "patch distributor": ("PATCH", D, {"discretionary": eur("0.00")}),
    "credit policy": ("GET", D + "/credit-policy", None),
    "list limit requests": ("GET", D + "/limit-requests", None),
    "get limit request": ("GET", D + "/limit-requests/lr-none", None),
    "decide limit request": ("POST", D + "/limit-requests/lr-none/decision", {"decision": "reject", "reason": "x"}),
    "list nominations": ("GET", D + "/nominations", None),
    "decide nomination": ("POST", D + "/nominations/nom-none/decision", {"decision": "reject", "reason": "x"}),
    "programme nominations": ("GET", P + "/mezzanine@actebis/nominations", None),
    "put insurance": (
        "PUT",
        R + "/insurance",
        {"insurer": "Coface", "cover": eur("900.00"), "decided_on": "2026-03-01"},
    ),
    "insurance history": ("GET", R + "/insurance", None),
    "cover cuts": ("GET", D + "/reports/cover-cuts?since=2026-01-01", None),
}
PROGRAMMES = {
    "create programme",
    "list programmes",
    "get programme",
    "patch programme",
    "enrol",
    "programme lines",
    "programme nominations",
}
ADMIN_ONLY = {"create distributor", "create vendor", "create key", "list keys", "revoke key"}
INTEGRATION = {"eligibility", "post drawing", "list drawings", "get drawing", "post release"}
ALLOWED = {
    "admin": set(ENDPOINTS),
    "officer": set(ENDPOINTS) - ADMIN_ONLY - PROGRAMMES - {"purchase event"},
    "integration": INTEGRATION | {"purchase event"},
    "partner": PROGRAMMES,
    "hp partner": set(),
    "officer at etc": set(),
    "integration at etc": set(),
}


@pytest.fixture
def world(api):
    api.post(
        "/v1/distributors",
        who="admin",
        json={"id": "etc", "name": "ETC", "currency": "EUR", "timezone": "Europe/Paris"},
    )
    api.keys["officer at etc"] = api.key("credit_officer", distributor_id="etc")
    api.keys["integration at etc"] = api.key("integration", distributor_id="etc")
    api.keys["hp partner"] = api.key("partner_manager", vendor_id="hp")
    api.post(
        P,
        who="partner",
        json={
            "code": "mezzanine",
            "distributor_id": "actebis",
            "name": "Mezzanine",
            "kind": "standing",
            "line_limit": eur("5000.00"),
            "starts_on": "2026-03-01",
            "ends_on": "2026-06-30",
        },
    )
    for r in ("R-1", "R-2"):
        api.put(D + f"/resellers/{r}", json={"name": r})
        api.put(D + f"/resellers/{r}/base-limit", json={"limit": eur("1000.00"), "reason": "open"})
    api.post(R + "/drawings", json={"reference": "SO-1", "amount": eur("100.00")})
    return api


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_reaches_exactly_its_endpoints(world, role):
    ledger_before = world.get(R + "/ledger", params={"limit": 1000}).json()["items"]
    for name, (method, path, body) in ENDPOINTS.items():
        response = world.request(method, path, who=role, json=body)
        if name in ALLOWED[role]:
            assert response.status_code not in (401, 403), (role, name, response.text)
            assert response.status_code < 500, (role, name, response.text)
        else:
            assert response.status_code == 403, (role, name, response.status_code, response.text)
            assert response.json()["code"] == "forbidden"
    if not ALLOWED[role] & {
        "put reseller",
        "base limit",
        "place hold",
        "post drawing",
        "post release",
        "enrol",
        "purchase event",
        "put insurance",
    }:
        assert world.get(R + "/ledger", params={"limit": 1000}).json()["items"] == ledger_before


def test_scope_is_checked_before_existence(world):
    """Outside the key's scope, even unknown resources answer 403 (nothing is read)."""
    response = world.get("/v1/distributors/etc/resellers/NOPE", who="officer")
    assert response.status_code == 403
    response = world.get("/v1/distributors/nobody/resellers/NOPE", who="integration")
    assert response.status_code == 403
