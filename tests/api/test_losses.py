"""Who bears the loss (SPEC §19–§21), through HTTP only: a scheduled cut, a default, its
write-off and claims, settlement, the vendor's own view, and the funders' statements."""

from __future__ import annotations

import hashlib
import json

from creditlines import clock
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-9"
MEZZANINE = {
    "code": "mezzanine",
    "distributor_id": "actebis",
    "name": "Mezzanine",
    "kind": "standing",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
    "on_expiry": "run_off",
}


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text


def test_a_default_is_written_off_by_funder_claimed_settled_and_stated(api):
    """R-9 at Actebis: base 10,000 insured by Coface for 8,000; Microsoft's Mezzanine gives 5,000.
    It draws 13,000 (base 10,000, Mezzanine 3,000), then Coface announces a cut to 2,000 from
    1 April. R-9 fails on 20 March, before the date: Microsoft is claimed 3,000, Coface 7,200."""
    assert api.put(R, json={"name": "Reseller R-9"}).status_code == 201
    assert api.put(R + "/base-limit", json={"limit": eur("10000.00"), "reason": "opening"}).status_code == 200
    cover = {"insurer": "Coface", "cover": eur("8000.00"), "decided_on": "2026-03-02"}
    assert api.put(R + "/insurance", json=cover).status_code == 200
    programme = api.post("/v1/vendors/microsoft/programmes", who="partner", json=MEZZANINE)
    assert programme.status_code == 201, programme.text
    enrol = api.post(
        f"/v1/vendors/microsoft/programmes/{programme.json()['id']}/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "R-9", "limit": eur("5000.00")}]},
    )
    assert enrol.json()["results"][0]["outcome"] == "granted", enrol.text
    order = api.post(R + "/drawings", who="integration", json={"reference": "SO-1", "amount": eur("13000.00")})
    assert order.status_code == 201, order.text

    cut = {**cover, "cover": eur("2000.00"), "effective_on": "2026-04-01"}
    scheduled = api.put(R + "/insurance", json=cut)
    assert scheduled.status_code == 200 and scheduled.json()["scheduled"] is True
    assert scheduled.json()["effective_on"] == "2026-04-01"
    _refused(api.put(R + "/insurance", json={**cut, "effective_on": "2026-03-01"}), 422, "validation_error")
    report = api.get(D + "/reports/cover-cuts", params={"since": "2026-03-01"}).json()["items"]
    assert [(r["reseller_id"], r["effective_on"], r["scheduled"]) for r in report] == [("R-9", "2026-04-01", True)]

    clock.set_now("2026-03-20T09:00:00+00:00")
    _refused(api.post(R + "/write-offs", json={"reference": "WO-1", "reason": "x"}), 409, "not_in_default")
    default = {"reason": "insolvency proceedings", "declared_on": "2026-03-20"}
    first = api.post(R + "/default", json=default)
    assert first.status_code == 201 and first.json()["in_default"] is True, first.text
    assert api.post(R + "/default", json=default).status_code == 200
    _refused(api.post(R + "/default", json={**default, "reason": "other"}), 409, "already_in_default")
    assert api.get(R).json()["status"] == "terminated"

    body = {"reference": "WO-1", "reason": "liquidation"}
    written = api.post(R + "/write-offs", json=body)
    assert written.status_code == 201, written.text
    w = written.json()
    assert w["written_off"] == eur("13000.00") and w["own_loss"] == eur("2800.00")
    assert {(c["funder_kind"], c["funder"]): c["amount"]["amount"] for c in w["claims"]} == {
        ("vendor", "microsoft"): "3000.00",
        ("insurer", "Coface"): "7200.00",
    }
    assert api.post(R + "/write-offs", json=body).json() == w
    _refused(api.post(R + "/write-offs", json={**body, "reason": "other"}), 409, "idempotency_conflict")
    assert api.get(R + "/drawings/SO-1").json()["status"] == "written_off"

    listed = api.get(D + "/claims", params={"status": "open"}).json()["items"]
    assert len(listed) == 2
    ms = api.get("/v1/vendors/microsoft/claims", who="partner").json()["items"]
    assert [(c["funder"], c["amount"]["amount"]) for c in ms] == [("microsoft", "3000.00")]
    api.keys["hp"] = api.key("partner_manager", vendor_id="hp")
    assert api.get("/v1/vendors/hp/claims", who="hp").json()["items"] == []
    _refused(api.get("/v1/vendors/microsoft/claims", who="hp"), 403, "forbidden")
    feed = api.get("/v1/vendors/microsoft/events", who="partner").json()["items"]
    assert "claim.opened" in [e["type"] for e in feed]

    coface = next(c for c in listed if c["funder"] == "Coface")
    paid = api.post(
        f"{D}/claims/{coface['id']}/settlement",
        json={"status": "paid", "amount_paid": eur("7000.00"), "reference": "COFACE-1"},
    )
    assert paid.status_code == 200 and paid.json()["amount_paid"] == eur("7000.00"), paid.text
    _refused(
        api.post(f"{D}/claims/{coface['id']}/settlement", json={"status": "rejected", "reference": "X"}),
        409,
        "already_settled",
    )
    microsoft = next(c for c in listed if c["funder"] == "microsoft")
    _refused(
        api.post(
            f"{D}/claims/{microsoft['id']}/settlement",
            json={"status": "paid", "amount_paid": eur("3000.01"), "reference": "MS-1"},
        ),
        422,
        "invalid_amount",
    )

    statement_path = D + "/funders/microsoft/statements/2026-03"
    _refused(api.get(statement_path), 409, "period_not_closed")
    clock.set_now("2026-04-02T09:00:00+00:00")
    march = api.get(statement_path, who="partner")
    assert march.status_code == 200, march.text
    assert march.content == api.get(statement_path).content  # byte-identical, officer or partner
    document = json.loads(march.content)
    without = {k: v for k, v in document.items() if k != "digest"}
    canonical = json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == document["digest"] == march.headers["creditlines-statement-digest"]
    assert document["previous_digest"] is None
    [line] = document["resellers"]
    assert (line["drawn"], line["written_off"], line["closing_drawn"], line["claims_opened_amount"]) == (
        "3000.00",
        "3000.00",
        "0.00",
        "3000.00",
    )
    csv = api.get(statement_path, headers={"Accept": "text/csv"})
    assert csv.text.splitlines()[-1].startswith("TOTAL,0.00,3000.00,0.00,0.00,3000.00,0.00")
    _refused(api.get(D + "/funders/actebis/statements/2026-03", who="partner"), 403, "forbidden")
    _refused(api.get(statement_path, who="hp"), 403, "forbidden")
    _refused(api.get(D + "/funders/microsoft/statements/2026-13"), 422, "validation_error")

    patched = api.request("PATCH", D, json={"indemnity_rate": "85"})
    assert patched.status_code == 200 and patched.json()["indemnity_rate"] == "85", patched.text
    _refused(api.request("PATCH", D, json={"indemnity_rate": "100.5"}), 422, "validation_error")
