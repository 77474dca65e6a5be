"""Every refusal is problem+json with a stable code, and posts nothing."""

import pytest

from tests.api.conftest import eur

R = "/v1/distributors/actebis/resellers/R-1"


@pytest.fixture
def reseller(api):
    api.put(R, json={"name": "R"})
    api.put(R + "/base-limit", json={"limit": eur("1000.00"), "reason": "open"})
    return api


def ledger_size(api):
    return len(api.get(R + "/ledger", params={"limit": 1000}).json()["items"])


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


@pytest.mark.parametrize(
    "amount, code",
    [
        (12.5, "invalid_amount"),
        (1000, "invalid_amount"),
        ("NaN", "invalid_amount"),
        ("Infinity", "invalid_amount"),
        ("1e3", "invalid_amount"),
        ("10.001", "invalid_amount"),
        ("-5.00", "invalid_amount"),
        ("0.00", "invalid_amount"),
        ("9" * 41, "invalid_amount"),
        ("", "invalid_amount"),
    ],
)
def test_inexact_amounts_are_refused_and_post_nothing(reseller, amount, code):
    before = ledger_size(reseller)
    response = reseller.post(
        R + "/drawings", json={"reference": "SO-1", "amount": {"amount": amount, "currency": "EUR"}}
    )
    assert_problem(response, 422, code)
    assert ledger_size(reseller) == before


def test_another_currency_is_refused(reseller):
    body = assert_problem(
        reseller.post(R + "/drawings", json={"reference": "SO-1", "amount": {"amount": "5.00", "currency": "USD"}}),
        422,
        "currency_mismatch",
    )
    assert "EUR" in body["detail"]
    assert_problem(
        reseller.put(R + "/base-limit", json={"limit": {"amount": "5.00", "currency": "GBP"}, "reason": "x"}),
        422,
        "currency_mismatch",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b"null",
        b'{"reference": "SO-1"}',
        b'{"reference": "SO-1", "amount": "5.00"}',
        b'{"reference": "' + b"x" * 101 + b'", "amount": {"amount": "1.00", "currency": "EUR"}}',
        b'{"reference": "SO-1", "amount": {"amount": "1.00", "currency": "EUR"}, "surprise": 1}',
    ],
)
def test_malformed_requests_are_validation_errors(reseller, raw):
    response = reseller.post(R + "/drawings", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] in ("validation_error", "invalid_amount")


def test_business_refusals(reseller):
    api = reseller
    refused = assert_problem(
        api.post(R + "/drawings", json={"reference": "SO-BIG", "amount": eur("1000.01")}), 409, "insufficient_credit"
    )
    assert refused["available"] == eur("1000.00") and refused["shortfall"] == eur("0.01")

    assert api.post(R + "/drawings", json={"reference": "SO-1", "amount": eur("600.00")}).status_code == 201
    assert_problem(
        api.post(R + "/drawings", json={"reference": "SO-1", "amount": eur("601.00")}), 409, "idempotency_conflict"
    )
    before = ledger_size(api)
    assert_problem(
        api.post(R + "/drawings/SO-1/releases", json={"reference": "P", "amount": eur("600.01"), "kind": "payment"}),
        409,
        "release_exceeds_outstanding",
    )
    assert ledger_size(api) == before
    assert (
        api.post(
            R + "/drawings/SO-1/releases", json={"reference": "P", "amount": eur("100.00"), "kind": "payment"}
        ).status_code
        == 201
    )
    assert_problem(
        api.post(
            R + "/drawings/SO-1/releases", json={"reference": "P", "amount": eur("100.00"), "kind": "credit_note"}
        ),
        409,
        "idempotency_conflict",
    )

    api.post(R + "/hold", json={"reason": "bounced cheque"})
    assert_problem(api.post(R + "/drawings", json={"reference": "SO-2", "amount": eur("1.00")}), 409, "account_on_hold")
    lifted = api.delete(R + "/hold")
    assert lifted.status_code == 200 and lifted.json()["status"] == "active"

    terminated = api.post(R + "/termination", json={"reason": "insolvency"})
    assert terminated.status_code == 200 and terminated.json()["status"] == "terminated"
    assert_problem(
        api.post(R + "/drawings", json={"reference": "SO-3", "amount": eur("1.00")}), 409, "reseller_terminated"
    )
    assert_problem(api.post(R + "/hold", json={"reason": "x"}), 409, "reseller_terminated")
    paid = api.post(R + "/drawings/SO-1/releases", json={"reference": "P2", "amount": eur("500.00"), "kind": "payment"})
    assert paid.status_code == 201 and paid.json()["status"] == "settled"  # money in is never refused


def test_unknown_things_are_not_found(reseller):
    api = reseller
    assert_problem(api.get("/v1/distributors/actebis/resellers/NOPE"), 404, "not_found")
    assert_problem(api.get(R + "/drawings/NOPE"), 404, "not_found")
    assert_problem(
        api.post(R + "/drawings/NOPE/releases", json={"reference": "P", "amount": eur("1.00"), "kind": "payment"}),
        404,
        "not_found",
    )
    assert_problem(api.get("/v1/distributors/nobody/resellers", who="admin"), 404, "not_found")
    assert_problem(api.get("/v1/nowhere"), 404, "not_found")


def test_keys_missing_unknown_or_revoked_are_unauthenticated(api):
    assert_problem(api.client.get("/v1/distributors/actebis/resellers"), 401, "unauthenticated")
    assert_problem(api.get("/v1/distributors/actebis/resellers", who="cl_deadbeef_nope"), 401, "unauthenticated")
    assert_problem(api.get("/v1/distributors/actebis/resellers", who="garbage"), 401, "unauthenticated")
    created = api.post(
        "/v1/api-keys", who="admin", json={"role": "credit_officer", "distributor_id": "actebis", "label": "Lyon desk"}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert api.get("/v1/distributors/actebis/resellers", who=key).status_code == 200
    listed = api.get("/v1/api-keys", who="admin").json()
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert api.delete(f"/v1/api-keys/{created.json()['id']}", who="admin").status_code == 204
    assert_problem(api.get("/v1/distributors/actebis/resellers", who=key), 401, "unauthenticated")


def test_keys_are_stored_hashed(api):
    from sqlalchemy import text

    key = api.post("/v1/api-keys", who="admin", json={"role": "integration", "distributor_id": "actebis"}).json()["key"]
    with api.uow.read() as s:
        stored = [row[0] for row in s.execute(text("select secret_hash from api_key"))]
    assert key.split("_", 2)[2] not in stored and all(len(h) == 64 for h in stored)


def test_key_scopes_are_validated(api):
    assert_problem(api.post("/v1/api-keys", who="admin", json={"role": "credit_officer"}), 422, "validation_error")
    assert_problem(
        api.post("/v1/api-keys", who="admin", json={"role": "partner_manager", "vendor_id": "nobody"}), 404, "not_found"
    )
    assert_problem(api.post("/v1/api-keys", who="admin", json={"role": "root"}), 422, "validation_error")


def test_as_of_must_be_an_instant_with_an_offset(reseller):
    assert_problem(reseller.get(R + "/availability", params={"as_of": "2026-03-01T10:00:00"}), 422, "validation_error")
    ok = reseller.get(R + "/availability", params={"as_of": "2026-03-01T10:00:00+01:00"})
    assert ok.status_code == 404  # the reseller did not exist yet then
    assert reseller.get(R + "/availability", params={"as_of": "2026-03-02T10:00:00+01:00"}).status_code == 200


def test_tenants_are_created_once(api):
    body = {"id": "etc", "name": "ETC", "currency": "EUR", "timezone": "Europe/Paris"}
    assert api.post("/v1/distributors", who="admin", json=body).status_code == 201
    assert api.post("/v1/distributors", who="admin", json=body).status_code == 200
    assert_problem(api.post("/v1/distributors", who="admin", json={**body, "currency": "USD"}), 409, "conflict")
    assert_problem(
        api.post("/v1/distributors", who="admin", json={**body, "id": "x", "timezone": "Mars/Olympus"}),
        422,
        "validation_error",
    )
    assert_problem(
        api.post("/v1/distributors", who="admin", json={**body, "id": "y", "currency": "ZZZ"}), 422, "validation_error"
    )
    assert api.post("/v1/vendors", who="admin", json={"id": "lenovo", "name": "Lenovo"}).status_code == 201


def test_a_key_revoked_elsewhere_stops_working_within_the_cache_ttl(api):
    """The CLI (another process) revokes: this worker trusts its cached check for at most the TTL."""
    from creditlines.auth import service as auth

    api.client.app.state.key_cache.ttl = 1
    created = api.post("/v1/api-keys", who="admin", json={"role": "credit_officer", "distributor_id": "actebis"}).json()
    assert api.get("/v1/distributors/actebis/resellers", who=created["key"]).status_code == 200
    with api.uow.write() as s:
        auth.revoke_key(s, key_id=created["id"])
    import time

    time.sleep(1.1)
    assert_problem(api.get("/v1/distributors/actebis/resellers", who=created["key"]), 401, "unauthenticated")
