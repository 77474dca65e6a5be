"""The console without a browser, on SQLite and PostgreSQL: sessions, CSRF, scope, what
people type (French amounts, enrolment lists), the search and the programme's history."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moneyed import Money

from console import enrolment, fmt
from console.session import COOKIE
from creditlines import clock, ledger
from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from creditlines.errors import CreditLinesError
from creditlines.ledger.browse import search_resellers
from creditlines.programmes import service as programmes
from creditlines.programmes.enrolment import enrol
from creditlines.programmes.history import DayPoint, programme_history
from tests.console import story
from tests.factories import eur


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, key: str) -> str:
    token = csrf_of(client.get("/console/sign-in").text)
    answer = client.post("/console/sign-in", data={"csrf": token, "api_key": key}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get(answer.headers["location"]).text)


def test_the_session_holds_no_key_and_a_tampered_cookie_signs_out(console: Any) -> None:
    client, keys, _ = console
    sign_in(client, keys["officer"])
    cookie = client.cookies[COOKIE]
    assert keys["officer"].split("_", 2)[2] not in cookie  # the secret (it may itself hold "_")
    body, mac = cookie.rsplit(".", 1)
    client.cookies.set(COOKIE, body + "." + ("0" if mac[0] != "0" else "1") + mac[1:], path="/console")
    answer = client.get("/console/distributors/actebis/resellers", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in")


def test_a_revoked_key_ends_its_sessions(console: Any) -> None:
    client, keys, uow = console
    sign_in(client, keys["officer"])
    assert client.get("/console/distributors/actebis/resellers").status_code == 200
    with uow.write() as s:
        auth.revoke_key(s, key_id=keys["officer"].split("_")[1])
    answer = client.get("/console/distributors/actebis/resellers", follow_redirects=False)
    assert answer.status_code == 303


def test_a_session_expires_after_a_working_day(console: Any) -> None:
    client, keys, _ = console
    sign_in(client, keys["officer"])
    clock.set_now("2026-03-02T17:01:00+00:00")  # 8 h 01 after sign-in
    assert client.get("/console/distributors/actebis/resellers", follow_redirects=False).status_code == 303


def test_every_form_needs_the_session_token(console: Any) -> None:
    client, keys, uow = console
    assert client.post("/console/sign-in", data={"api_key": keys["officer"]}).status_code == 403
    token = sign_in(client, keys["officer"])
    for path, data in (
        ("/resellers/R-1001/base-limit", {"limit": "1", "reason": "x"}),
        ("/resellers/R-1001/hold", {"reason": "x"}),
        ("/resellers/R-1001/termination", {"reason": "x", "confirm": "R-1001"}),
    ):
        answer = client.post("/console/distributors/actebis" + path, data={**data, "csrf": token[:-1] + "x"})
        assert answer.status_code == 403 and "Form refused" in answer.text
    with uow.read() as s:
        assert ledger.reseller_summary(s, distributor_id="actebis", reseller_id="R-1001").reseller.status == "active"
    assert client.post("/console/sign-out", data={}).status_code == 403


def test_sign_in_never_redirects_to_another_site(console: Any) -> None:
    client, keys, _ = console
    token = csrf_of(client.get("/console/sign-in?next=//evil.example/x").text)
    answer = client.post(
        "/console/sign-in",
        data={"csrf": token, "api_key": keys["officer"], "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/console/distributors/actebis/resellers"


def test_scope_partner_and_other_distributor(console: Any) -> None:
    client, keys, _ = console
    sign_in(client, keys["partner"])
    assert client.get("/console/distributors/actebis/resellers/R-1001").status_code == 403
    assert client.get("/console/vendors/hp/programmes").status_code == 403
    assert client.get("/console/vendors/microsoft/programmes/mezzanine@etc").status_code == 403  # never admitted
    page = client.get("/console/vendors/microsoft/programmes/mezzanine@actebis")
    assert page.status_code == 200 and "Microsoft Mezzanine" in page.text
    client.cookies.clear()
    sign_in(client, keys["officer_etc"])
    assert client.get("/console/distributors/actebis/resellers/R-1001").status_code == 403
    assert client.get("/console/distributors/actebis/listings/over-limit.csv").status_code == 403


def test_an_ended_partnership_stays_readable_and_enrols_nobody(console: Any) -> None:
    """Actebis ends Microsoft's partnership: Mezzanine's lines run off and Microsoft watches
    them, but the enrolment form answers what the API does, 409 partnership_ended."""
    from creditlines.partnerships import service as partnerships

    client, keys, uow = console
    token = sign_in(client, keys["partner"])
    with uow.write() as s:
        partnerships.end(s, distributor_id="actebis", vendor_id="microsoft", actor="test")
    assert client.get("/console/vendors/microsoft/programmes/mezzanine@actebis").status_code == 200
    answer = client.post(
        "/console/vendors/microsoft/programmes/mezzanine@actebis/enrolments", data={"csrf": token, "rows": "R-1001"}
    )
    assert answer.status_code == 409 and "Nothing was enrolled" in answer.text and "has ended" in answer.text


def test_refusals_render_beside_the_form_with_their_status(console: Any) -> None:
    client, keys, _ = console
    token = sign_in(client, keys["officer"])
    answer = client.post(
        "/console/distributors/actebis/resellers/R-1001/termination",
        data={"csrf": token, "reason": "insolvency", "confirm": "R-1002"},
    )
    assert answer.status_code == 422 and "type the reseller id R-1001" in answer.text
    answer = client.post("/console/distributors/actebis/resellers/R-1001/hold", data={"csrf": token, "reason": ""})
    assert answer.status_code == 422
    assert client.get("/console/distributors/actebis/resellers/R-404").status_code == 404
    assert client.get("/console/distributors/actebis/resellers/R-1001?amount=abc").status_code == 422
    assert client.get("/console/distributors/actebis/resellers?after=bad%20id").status_code == 422


def test_the_signing_secret_survives_an_unwritable_place(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.session import signing_secret

    monkeypatch.delenv("CREDITLINES_CONSOLE_SECRET", raising=False)
    monkeypatch.setenv("CREDITLINES_CONSOLE_SECRET_FILE", str(tmp_path / "s" / "secret"))
    assert signing_secret() == signing_secret()  # created once, then read by every worker
    assert (tmp_path / "s" / "secret").stat().st_mode & 0o777 == 0o600
    (tmp_path / "a-file").write_text("")  # a folder that cannot be made (read-only is no obstacle to root)
    monkeypatch.setenv("CREDITLINES_CONSOLE_SECRET_FILE", str(tmp_path / "a-file" / "secret"))
    assert len(signing_secret()) >= 32 and signing_secret() != signing_secret()  # per process, still starts


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("7 500,50", "7500.50"),
        ("7\u202f500,50\u00a0€", "7500.50"),
        ("7500.50", "7500.50"),
        ("12000", "12000"),
        ("0,5", "0.5"),
    ],
)
def test_amounts_as_people_type_them(typed: str, expected: str) -> None:
    assert fmt.parse_money(typed, "EUR").amount == Decimal(expected)


@pytest.mark.parametrize("typed", ["7.500,50", "-5", "1e3", "12,005", "", "abc", "1,2,3"])
def test_amounts_refused(typed: str) -> None:
    with pytest.raises(CreditLinesError):
        fmt.parse_money(typed, "EUR")


def test_amounts_shown_in_french() -> None:
    assert fmt.money(Money("10500", "EUR")) == "10\u202f500,00\u00a0€"
    assert fmt.day(date(2026, 6, 30)) == "30 juin 2026"
    # The ledger's instants write their date as the lines do (it said 29/03/2026 beside 29 mars 2026).
    assert fmt.instant(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "Europe/Paris") == "29 mars 2026 00:30"
    assert fmt.instant(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "Europe/Paris").startswith(fmt.day(date(2026, 3, 29)))


def test_enrolment_rows() -> None:
    pasted = "reseller_id;limit\nR-1;5 000,00\n\nR-2\nR-1;10\nbad id\nR-3,1000.50\nR-4;1;2\nR-5;-3\n"
    rows = enrolment.parse(pasted, "EUR")
    assert [(r.number, r.reseller_id, r.limit, r.error is None) for r in rows] == [
        (2, "R-1", eur("5000"), True),
        (4, "R-2", None, True),
        (5, "R-1", None, False),
        (6, "bad id", None, False),
        (7, "R-3", eur("1000.50"), True),
        (8, "R-4", None, False),
        (9, "R-5", None, False),
    ]
    assert enrolment.decode("R-é".encode("cp1252")) == "R-é"
    assert enrolment.decode("\ufeffR-1".encode()) == "R-1"


def test_search_by_id_prefix_name_and_pages(uow: UnitOfWork) -> None:
    story.load(uow)
    with uow.read() as s:

        def ids(**kw: Any) -> list[str]:
            return [
                r.reseller.id
                for r in search_resellers(
                    s, distributor_id="actebis", after=kw.pop("after", None), limit=kw.pop("limit", 50), **kw
                )
            ]

        assert ids(query="R-10") == ["R-1001", "R-1002", "R-1003"]
        assert ids(query="LILLE") == ["R-1002"]
        assert ids(query="%") == [] and ids(query="_") == []
        assert ids(query="R-10", limit=2) == ["R-1001", "R-1002"]
        assert ids(query="R-10", after="R-1002") == ["R-1003"]
        assert ids(query=None, over_limit=True) == ["R-1003"]
        assert ids(query="vallée", status="active") == ["R-1001"]


def test_programme_history_from_the_ledger(uow: UnitOfWork) -> None:
    """Mezzanine runs from 1 February; R-1001 and R-1002 are enrolled on 2 March. On 3 March
    R-1001 orders 9,000: 7,500 from its base line, 1,500 from Mezzanine; on 4 March it pays. The
    chart counts only the programme's lines: 2 beneficiaries, 1,500 drawn for one day."""
    story.load(uow)
    with uow.write() as s:
        enrol(
            s,
            vendor_id="microsoft",
            programme_id="mezzanine@actebis",
            resellers=[("R-1001", None), ("R-1002", eur("1000"))],
            actor="test",
        )
    clock.set_now("2026-03-03T10:00:00+00:00")
    with uow.write() as s:  # base has 7,500 available: 9,000 takes 1,500 from Mezzanine
        ledger.draw(
            s, distributor_id="actebis", reseller_id="R-1001", reference="SO-9", amount=eur("9000"), actor="test"
        )
    clock.set_now("2026-03-04T10:00:00+00:00")
    with uow.write() as s:
        ledger.release(
            s,
            distributor_id="actebis",
            reseller_id="R-1001",
            drawing_reference="SO-9",
            reference="PAY-9",
            amount=eur("9000"),
            kind="payment",
            actor="test",
        )
    with uow.read() as s:
        programme = programmes.get_programme(s, vendor_id="microsoft", programme_id="mezzanine@actebis")
        points = programme_history(s, programme)
    assert points[0] == DayPoint(date(2026, 2, 1), 0, 0)
    assert points[-3:] == [
        DayPoint(date(2026, 3, 2), 2, 0),
        DayPoint(date(2026, 3, 3), 2, 150_000),
        DayPoint(date(2026, 3, 4), 2, 0),
    ]


def test_bars_show_what_is_above_the_limit_and_escape_labels() -> None:
    """R-1003: limit cut to 500 with 800 drawn — the bar is full and 300 of it is red."""
    from console import charts

    svg = str(charts.availability_bars([charts.BarLine("<b>Base</b>", 50_000, 80_000, "500", "800", "0")]))
    assert "<b>" not in svg and "&lt;b&gt;Base" in svg
    assert 'class="seg-drawn"' in svg and 'class="seg-over"' in svg and 'class="seg-available"' not in svg
    widths = [float(w) for w in re.findall(r'width="([0-9.]+)" height="18" fill="#[0-9a-f]+" class', svg)]
    assert widths[1] / widths[0] == pytest.approx(300 / 500, rel=1e-3)
