"""The hot eligibility route (one statement on the event loop, the pure decision rendered from
minor units) answers exactly what the service answers through the ORM, rendered as every other
view is (``render.document``), in every state a reseller can be in."""

import itertools

from moneyed import Money

from api import render
from api.schemas.drawings import DecisionOut
from creditlines import clock, ledger
from tests.api.conftest import eur
from tests.api.test_programmes import MEZZANINE, MS

AMOUNTS = ["0.01", "2999.99", "3000.00", "3000.01", "8000.00", "20000.00"]
VENDORS = [None, "microsoft", "hp"]


def _service_answer(api, reseller_id, amount, vendor_id):
    with api.uow.read() as s:
        d = ledger.check_eligibility(
            s, distributor_id="actebis", reseller_id=reseller_id, amount=Money(amount, "EUR"), vendor_id=vendor_id
        )

    return render.document(d)  # the document every other route renders its view with


def _compare_everything(api):
    for reseller_id, amount, vendor_id in itertools.product(["R-1", "R-2", "R-3", "R-4", "R-5"], AMOUNTS, VENDORS):
        body = {"amount": eur(amount), **({"vendor_id": vendor_id} if vendor_id else {})}
        answer = api.post(f"/v1/distributors/actebis/resellers/{reseller_id}/eligibility", who="integration", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        DecisionOut.model_validate_json(answer.content)  # the document of the declared model
        assert answer.json() == _service_answer(api, reseller_id, amount, vendor_id), (reseller_id, amount, vendor_id)


def test_hot_eligibility_answers_what_the_service_answers(api):
    with clock.frozen("2026-04-01T10:00:00+02:00"):
        for r in ("R-1", "R-2", "R-3", "R-4", "R-5"):
            api.put(f"/v1/distributors/actebis/resellers/{r}", json={"name": r})
            api.put(
                f"/v1/distributors/actebis/resellers/{r}/base-limit", json={"limit": eur("3000.00"), "reason": "cover"}
            )
        vendor_only = {**MEZZANINE, "code": "mezz-vendor", "usable_for": "vendor_products", "budget": None}
        transfer = {**MEZZANINE, "code": "mezz-transfer", "on_expiry": "transfer_to_base", "budget": None}
        for definition in (vendor_only, transfer):
            created = api.post(MS, who="partner", json=definition)
            assert created.status_code == 201, created.text
            enrolled = api.post(
                f"{MS}/{created.json()['id']}/enrolments",
                who="partner",
                json={"resellers": [{"reseller_id": "R-1"}, {"reseller_id": "R-3"}]},
            )
            assert enrolled.status_code == 200, enrolled.text
        drawn = api.post(
            "/v1/distributors/actebis/resellers/R-1/drawings",
            who="integration",
            json={"reference": "SO-1", "amount": eur("7000.00")},
        )
        assert drawn.status_code == 201, drawn.text
        api.post("/v1/distributors/actebis/resellers/R-2/hold", json={"reason": "late payments"})
        api.post("/v1/distributors/actebis/resellers/R-4/termination", json={"reason": "insolvent"})
        api.put("/v1/distributors/actebis/resellers/R-5/base-limit", json={"limit": eur("0.00"), "reason": "cover cut"})
        _compare_everything(api)
    # After the programmes end and before the nightly job runs: the transfer weighs on the base line.
    with clock.frozen("2026-07-01T09:00:00+02:00"):
        _compare_everything(api)


def test_hot_eligibility_refuses_like_every_other_route(api):
    unknown = api.post(
        "/v1/distributors/actebis/resellers/NOPE/eligibility", who="integration", json={"amount": eur("1.00")}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    nowhere = api.post("/v1/distributors/nowhere/resellers/R-1/eligibility", who="admin", json={"amount": eur("1.00")})
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
    api.put("/v1/distributors/actebis/resellers/R-1", json={"name": "R-1"})
    for amount, code in (
        (eur("1.001"), "invalid_amount"),
        ({"amount": "1.00", "currency": "USD"}, "currency_mismatch"),
        (eur("0.00"), "invalid_amount"),
    ):
        refused = api.post(
            "/v1/distributors/actebis/resellers/R-1/eligibility", who="integration", json={"amount": amount}
        )
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
