"""Adversarial review of the endpoints added since the first version (issue 20, last bullet).

Each test is one attack, as a rival vendor, a second tenant or an officer bypassing a control.
Tests marked ``xfail(strict=True, reason="HOLE: ...")`` demonstrate a hole that is still open:
they pass (as xfail) while the hole is there and turn red once it is closed (drop the marker).
"""

from __future__ import annotations

import pytest

from api.deps import encode_cursor
from tests.api.conftest import eur

D = "/v1/distributors/actebis"
R = D + "/resellers/R-1"
MEZZ = {
    "code": "mezz",
    "distributor_id": "actebis",
    "name": "Mezzanine",
    "kind": "standing",
    "line_limit": eur("5000.00"),
    "starts_on": "2026-03-01",
    "ends_on": "2026-06-30",
}


def _refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    if code is not None:
        assert response.json()["code"] == code, response.text


def _reseller(api, reseller_id: str = "R-1", limit: str = "10000.00", distributor: str = D) -> None:
    assert api.put(f"{distributor}/resellers/{reseller_id}", json={"name": reseller_id}).status_code == 201
    answer = api.put(f"{distributor}/resellers/{reseller_id}/base-limit", json={"limit": eur(limit), "reason": "open"})
    assert answer.status_code == 200, answer.text


def _etc(api) -> None:
    body = {"id": "etc", "name": "ETC", "currency": "EUR", "timezone": "Europe/Paris"}
    assert api.post("/v1/distributors", who="admin", json=body).status_code == 201
    api.keys["etc officer"] = api.key("credit_officer", distributor_id="etc")
    api.keys["etc erp"] = api.key("integration", distributor_id="etc")


# ------------------------------------------------------------------ webhooks aimed inward


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]:5432/",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://2130706433/",
        "http://017700000001/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://0/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://[::1]:5432/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1%25lo]/",
        "http://100.64.0.1/",
        "http://user:pw@127.0.0.1:5432/",
        "https://10.0.0.1:443/",
    ],
)
def test_a_webhook_cannot_be_aimed_at_the_services_own_network(api, url):
    """An officer subscribes loopback / private addresses written every way a parser accepts."""
    _refused(api.post("/v1/webhooks", json={"url": url, "types": ["drawing.created"]}), 422, "webhook_url_not_allowed")


def test_a_name_resolving_inward_is_refused_again_at_connect():
    """At delivery, a name is resolved and every address checked before connecting (no rebinding)."""
    import anyio

    from creditlines.events import destinations

    async def connect() -> None:
        await destinations.PinnedBackend(()).connect_tcp("localhost", 5432, timeout=2)

    with pytest.raises(destinations.RefusedAddress) as refused:
        anyio.run(connect)
    assert destinations.outcome(refused.value) == "refused_address"


# ------------------------------------------------------------------ second tenant (ETC)


def test_etc_reaches_no_actebis_held_order_financing_webhook_or_report(api):
    _etc(api)
    _reseller(api)
    held = api.post(
        R + "/drawings", who="integration", json={"reference": "SO-1", "amount": eur("20000.00"), "on_refusal": "hold"}
    )
    assert held.status_code == 202, held.text
    hook = api.post("/v1/webhooks", json={"url": "https://erp.actebis.example/h", "types": ["drawing.created"]})
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["id"]
    fin = {"reference": "F-1", "financier": "msf", "amount": eur("100.00"), "order_reference": "SO-2"}
    for who in ("etc officer", "etc erp"):
        _refused(api.get(D + "/held-orders", who=who), 403, "forbidden")
        _refused(api.get(D + "/held-orders", who=who, headers={"Accept": "text/csv"}), 403, "forbidden")
        _refused(api.delete(R + "/drawings/SO-1", who=who), 403, "forbidden")
        _refused(api.post(R + "/financings", who=who, json=fin), 403, "forbidden")
        _refused(api.get(D + "/reports/financings?since=2026-01-01", who=who), 403, "forbidden")
        _refused(api.get(D + "/events", who=who), 403, "forbidden")
    # the same reseller id and order reference under ETC's own path: unknown there
    _refused(api.delete("/v1/distributors/etc/resellers/R-1/drawings/SO-1", who="etc officer"), 404)
    etc_held = api.get("/v1/distributors/etc/held-orders", who="etc officer")
    assert etc_held.status_code == 200 and etc_held.json()["items"] == []
    # Actebis' webhook, by id: invisible to ETC, to the ERP key and to a vendor
    for who in ("etc officer", "partner"):
        for method, path in (
            ("GET", f"/v1/webhooks/{hook_id}"),
            ("GET", f"/v1/webhooks/{hook_id}/deliveries"),
            ("POST", f"/v1/webhooks/{hook_id}/secret"),
            ("DELETE", f"/v1/webhooks/{hook_id}"),
        ):
            _refused(api.request(method, path, who=who), 404, "not_found")
        assert hook_id not in [h["id"] for h in api.get("/v1/webhooks", who=who).json()]
    _refused(api.get("/v1/webhooks", who="etc erp"), 403, "forbidden")
    # subscribing to Actebis' feed from ETC, or to a vendor's feed from a distributor
    for body in ({"distributor_id": "actebis"}, {"vendor_id": "microsoft"}):
        answer = api.post(
            "/v1/webhooks",
            who="etc officer",
            json={"url": "https://etc.example/h", "types": ["drawing.created"], **body},
        )
        _refused(answer, 403, "forbidden")
    # an Actebis events cursor given to ETC's feed shows only ETC's events
    page = api.get(D + "/events").json()
    assert page["items"], page
    etc_page = api.get("/v1/distributors/etc/events", who="etc officer", params={"after": encode_cursor([0, 0])}).json()
    assert all(e["distributor_id"] == "etc" for e in etc_page["items"])
    assert api.get(f"/v1/webhooks/{hook_id}").status_code == 200  # still there, untouched


# ------------------------------------------------------------------ rival vendor (HP next to Microsoft)


def test_hp_sees_and_acts_on_nothing_of_microsofts_same_code_programme(api):
    _reseller(api, limit="1000.00")
    api.keys["hp"] = api.key("partner_manager", vendor_id="hp")
    for vendor in ("microsoft", "hp"):
        assert api.put(f"{D}/vendors/{vendor}", who="admin", json={"requires_approval": True}).status_code in (200, 201)
    assert api.post("/v1/vendors/microsoft/programmes", who="partner", json=MEZZ).status_code == 201
    enrol = api.post(
        "/v1/vendors/microsoft/programmes/mezz@actebis/enrolments",
        who="partner",
        json={"resellers": [{"reseller_id": "R-1"}]},
    )
    assert enrol.status_code == 200, enrol.text
    # HP has no mezz@actebis yet: Microsoft's is not found for HP, whatever path it takes
    for path in ("nominations", "lines", "enrolments"):
        method = "POST" if path == "enrolments" else "GET"
        body = {"json": {"resellers": [{"reseller_id": "R-1"}]}} if method == "POST" else {}
        answer = api.request(method, f"/v1/vendors/hp/programmes/mezz@actebis/{path}", who="hp", **body)
        _refused(answer, 404, "not_found")
        _refused(
            api.request(method, f"/v1/vendors/microsoft/programmes/mezz@actebis/{path}", who="hp", **body),
            403,
            "forbidden",
        )
    _refused(api.get("/v1/vendors/microsoft/events", who="hp"), 403, "forbidden")
    hp_feed = api.get("/v1/vendors/hp/events", who="hp").json()["items"]
    assert hp_feed == []
    # HP now owns the same code: its feed and listings still show nothing of Microsoft's
    assert api.post("/v1/vendors/hp/programmes", who="hp", json=MEZZ).status_code == 201
    assert api.get("/v1/vendors/hp/programmes/mezz@actebis/nominations", who="hp").json()["items"] == []
    assert [e["type"] for e in api.get("/v1/vendors/hp/events", who="hp").json()["items"]] == []
    # a vendor-scoped webhook of Microsoft's, and types outside a vendor's feed
    _refused(
        api.post(
            "/v1/webhooks",
            who="hp",
            json={"url": "https://hp.example/h", "types": ["line.granted"], "vendor_id": "microsoft"},
        ),
        403,
        "forbidden",
    )
    _refused(
        api.post("/v1/webhooks", who="hp", json={"url": "https://hp.example/h", "types": ["drawing.created"]}), 422
    )
    # the distributor's decision endpoints are not a vendor's
    (nomination,) = api.get(f"{D}/nominations").json()["items"]
    _refused(
        api.post(f"{D}/nominations/{nomination['id']}/decision", who="hp", json={"decision": "reject", "reason": "x"}),
        403,
        "forbidden",
    )
