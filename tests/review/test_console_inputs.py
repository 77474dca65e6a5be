"""The console's new pages and forms given odd input by a signed-in officer (review of issue 20):
a refusal on the page, never a 5xx (the test client re-raises any unexpected exception)."""

from __future__ import annotations

from typing import Any

from tests.console.test_pages import sign_in

C = "/console/distributors/actebis"
ODD = ["", "x" * 100, "\u0000", "%", "1e999", "NaN", "-1", "9" * 40, "0,001", "1 000 000 000 000 000 000", "💶"]


def test_odd_input_on_the_consoles_new_pages_never_answers_5xx(console: Any) -> None:
    client, keys, _ = console
    token = sign_in(client, keys["officer"])
    statuses: dict[tuple[str, str], int] = {}

    def get(path: str, **params: str) -> None:
        answer = client.get(path, params=params, follow_redirects=False)
        statuses[(path, str(params))] = answer.status_code

    def post(path: str, **form: str) -> None:
        answer = client.post(path, data={"csrf": token, **form}, follow_redirects=False)
        statuses[(path, str(form))] = answer.status_code

    for value in ODD:
        for page in ("limit-requests", "nominations", "policy-requests"):
            get(f"{C}/{page}", after=value, done=value[:20])
        get(f"{C}/listings/held-orders", within_days=value)
        get(f"{C}/resellers/R-1001", amount=value[:40], vendor=value, before=value)
        post(f"{C}/resellers/R-1001/base-limit", limit=value, reason="odd")
        post(f"{C}/resellers/R-1001/insurance", insurer="Coface", cover=value, decided_on="2026-03-01")
        post(f"{C}/resellers/R-1001/insurance", insurer=value, cover="10", decided_on=value)
        post(f"{C}/resellers/R-1001/held-orders/cancel", reference=value)
        in_path = value.replace("\u0000", "x").replace("%", "%25") or "x"
        post(f"{C}/limit-requests/{in_path}/decision", decision="approve", reason="x", limit=value)
        post(f"{C}/policy-requests/{in_path}/decision", decision=value, reason=value)
        post(f"{C}/nominations/nom_x/decision", decision="reject", reason="x", refusal_code=value)
    for day in ("0001-01-01", "9999-12-31", "2026-02-30"):
        post(f"{C}/resellers/R-1001/insurance", insurer="Coface", cover="10", decided_on=day)
    assert {k: v for k, v in statuses.items() if v >= 500} == {}
