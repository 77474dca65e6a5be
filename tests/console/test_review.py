"""What an adversarial review of the console found (issue 14): each test reproduces an attack or
a user's mistake and pins the answer. Uploads that break the CSV reader, files as Excel saves
them, and the pages answering exactly what the API answers for the same request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from console import enrolment
from console.session import COOKIE
from tests.console.test_pages import csrf_of, sign_in

ENROL = "/console/vendors/microsoft/programmes/mezzanine@actebis/enrolments"


def outcomes(html: str) -> list[str]:
    import re

    return re.findall(r'<tr class="outcome-([a-z_]+)">', html)


def test_a_cell_larger_than_the_csv_reader_takes_is_an_invalid_row(console: Any) -> None:
    """A 200 000-character line (a file with no line breaks, a pasted blob) used to reach
    Python's csv reader, which raises past its 131 072-character field limit: a 500. It is one
    invalid row, and the rows around it are still enrolled."""
    client, keys, _ = console
    token = sign_in(client, keys["partner"])
    body = b"R-1001;100\n" + b"R" * 200_000 + b"\nR-1002\n"
    answer = client.post(ENROL, data={"csrf": token}, files={"file": ("big.csv", body, "text/csv")})
    assert answer.status_code == 200
    assert outcomes(answer.text) == ["granted", "invalid_row", "granted"]
    assert "row too long" in answer.text


def test_long_rows_are_refused_before_the_reader() -> None:
    rows = enrolment.parse("R-1;5\n" + "x;" * 100_000 + "\n" + '"' + "y" * 300_000 + "\n", "EUR")
    assert [(r.number, r.error is None) for r in rows] == [(1, True), (2, False), (3, False)]


def test_excel_unicode_text_is_read() -> None:
    """Excel's "Unicode text" export (French Excel: "Texte Unicode") is UTF-16 with its BOM,
    tab-separated: it used to be decoded as Windows-1252 and every row became unreadable."""
    data = "reseller_id\tlimit\r\nR-1001\t5 000,00\r\nR-1002\r\n".encode("utf-16")
    rows = enrolment.parse(enrolment.decode(data), "EUR")
    assert [(r.reseller_id, r.limit.amount if r.limit else None, r.error) for r in rows] == [
        ("R-1001", Decimal("5000.00"), None),
        ("R-1002", None, None),
    ]


def test_binary_uploads_answer_a_page_not_a_500(console: Any) -> None:
    client, keys, _ = console
    token = sign_in(client, keys["partner"])
    for body in (bytes(range(256)) * 40, b"R-1001\x00;5\n", b"\xff\xfe\x00", b'"R-1001;5\n', b"\r\r\r"):
        answer = client.post(ENROL, data={"csrf": token}, files={"file": ("x.bin", body, "application/octet-stream")})
        assert answer.status_code in (200, 422), body[:20]
        assert answer.headers["content-type"].startswith("text/html")


def test_a_cookie_copied_before_sign_out_is_refused_after_it(console: Any) -> None:
    """Sign-out ends the session on the server (console_sign_out), not only in this browser: a
    copy of the cookie taken before is refused; signing in again starts a new session that works."""
    client, keys, _ = console
    token = sign_in(client, keys["officer"])
    copied = client.cookies[COOKIE]
    assert client.post("/console/sign-out", data={"csrf": token}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(COOKIE, copied, path="/console")
    answer = client.get("/console/distributors/actebis/resellers", follow_redirects=False)
    assert answer.status_code == 303
    assert "/console/sign-in" in answer.headers["location"]
    client.cookies.clear()
    sign_in(client, keys["officer"])
    assert client.get("/console/distributors/actebis/resellers", follow_redirects=False).status_code == 200


def test_an_upload_above_1_mib_answers_a_page_with_the_code(console: Any) -> None:
    """A partner manager uploads a 2 MiB export: 413 before the body is read, as the API does,
    but as a page a person can read (with the same code), not a JSON document."""
    client, keys, _ = console
    token = sign_in(client, keys["partner"])
    answer = client.post(ENROL, data={"csrf": token}, files={"file": ("big.csv", b"R-1001\n" * 300_000, "text/csv")})
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "payload_too_large" in answer.text and "1 MiB" in answer.text
    api = client.post(
        "/v1/vendors/microsoft/programmes/mezzanine@actebis/enrolments",
        content=b"x" * 2_000_000,
        headers={"Content-Type": "application/json"},
    )
    assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"


def test_a_form_posted_without_a_session_never_comes_back_as_the_next_page(console: Any) -> None:
    """The key behind a session was replaced while a form was open: the post goes to sign-in,
    and sign-in must not then send the browser to a form's address (a GET there is a 405)."""
    from creditlines.auth import service as auth

    client, keys, uow = console
    token = sign_in(client, keys["officer"])
    with uow.write() as s:
        auth.revoke_key(s, key_id=keys["officer"].split("_")[1])
    answer = client.post(
        "/console/distributors/actebis/resellers/R-1001/hold",
        data={"csrf": token, "reason": "x"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"


def test_long_or_control_character_reasons_are_refused_not_500(console: Any) -> None:
    client, keys, _ = console
    token = sign_in(client, keys["officer"])
    for reason in ("x" * 10_000, "over\x00due", "a\x1bb"):
        answer = client.post(
            "/console/distributors/actebis/resellers/R-1001/hold", data={"csrf": token, "reason": reason}
        )
        assert answer.status_code == 422, reason[:10]


def test_a_vendor_reaches_no_other_vendors_programme_by_editing_the_address(console: Any) -> None:
    """HP runs its own programme at Actebis. Microsoft's partner manager puts HP's programme id
    under its own vendor (not found: programmes are looked up by vendor and id), or HP's vendor
    id in the address (not in scope), to read it or to enrol into it: nothing is shown or granted."""
    from datetime import date

    from creditlines.partnerships import service as partnerships
    from creditlines.programmes import service as programmes
    from tests.factories import eur

    client, keys, uow = console
    with uow.write() as s:
        partnerships.admit(
            s,
            distributor_id="actebis",
            vendor_id="hp",
            max_line_limit=None,
            requires_approval=False,
            note=None,
            actor="test",
        )
        programmes.create_programme(
            s,
            vendor_id="hp",
            distributor_id="actebis",
            code="boost",
            name="HP Boost",
            kind="standing",
            line_limit=eur("3000"),
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 6, 30),
        )
    token = sign_in(client, keys["partner"])
    assert client.get("/console/vendors/microsoft/programmes/boost@actebis").status_code == 404
    assert client.get("/console/vendors/hp/programmes/boost@actebis").status_code == 403
    assert "HP Boost" not in client.get("/console/vendors/microsoft/programmes").text
    for vendor in ("microsoft", "hp"):
        answer = client.post(
            f"/console/vendors/{vendor}/programmes/boost@actebis/enrolments", data={"csrf": token, "rows": "R-1001"}
        )
        assert answer.status_code in (403, 404) and "HP Boost" not in answer.text
    with uow.read() as s:
        programme = programmes.get_programme(s, vendor_id="hp", programme_id="boost@actebis")
        assert programmes.view(s, programme).beneficiaries == 0


def test_names_reasons_and_uploads_are_text_never_markup(console: Any) -> None:
    """A reseller named like a script, a programme named like an image with a handler, a hold's
    reason closing an attribute, and an uploaded row holding markup: every page shows them as text,
    and the listing's CSV neutralises the ones a spreadsheet would run."""
    from creditlines import ledger

    client, keys, uow = console
    evil = "<script>alert(1)</script>"
    with uow.write() as s:
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id="R-1001", name=evil, actor="test")
        ledger.upsert_reseller(s, distributor_id="actebis", reseller_id="R-1002", name="@SUM(1+1)", actor="test")
    token = sign_in(client, keys["officer"])
    client.post(
        "/console/distributors/actebis/resellers/R-1001/hold",
        data={"csrf": token, "reason": '"><img src=x onerror=alert(2)>'},
    )
    for page in (
        "/console/distributors/actebis/resellers",
        "/console/distributors/actebis/resellers/R-1001",
        "/console/distributors/actebis/listings/over-limit",
    ):
        html = client.get(page).text
        assert "<script>alert" not in html and "<img src=x" not in html, page
    csv = client.get("/console/distributors/actebis/listings/over-limit.csv").text
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv
    client.cookies.clear()
    token = sign_in(client, keys["partner"])
    answer = client.post(
        ENROL,
        data={"csrf": token},
        files={"file": ("x.csv", b"<svg onload=alert(3)>;5\nR-1002;<b>9</b>\n", "text/csv")},
    )
    assert answer.status_code == 200 and "<svg onload" not in answer.text and "<b>9" not in answer.text
    assert outcomes(answer.text) == ["invalid_row", "invalid_row"]


def test_behind_a_tls_proxy_the_cookie_can_be_marked_secure(console: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server sees plain HTTP when TLS ends at a proxy it does not trust for
    X-Forwarded-Proto: the cookie went out without Secure. CREDITLINES_CONSOLE_SECURE_COOKIE
    marks it Secure whatever the scheme; it is HttpOnly and SameSite=Strict in every case."""
    from api.app import create_app

    client, _, uow = console
    assert "secure" not in client.get("/console/sign-in").headers["set-cookie"].lower()
    monkeypatch.setenv("CREDITLINES_CONSOLE_SECURE_COOKIE", "true")
    from fastapi.testclient import TestClient

    app = create_app(database_url=uow.engine.url.render_as_string(hide_password=False))
    with TestClient(app, base_url="http://127.0.0.1") as other:
        cookie = other.get("/console/sign-in").headers["set-cookie"].lower()
    app.state.uow.dispose()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_the_expiring_listing_shows_local_dates_like_every_other_page(console: Any) -> None:
    """Mezzanine's lines end on 30 June 2026: the listing's page read "2026-06-30" where every
    other page writes "30 juin 2026" (SPEC §14: dates as local dates). The CSV keeps ISO dates."""
    from creditlines.programmes import enrolment

    client, keys, uow = console
    with uow.write() as s:
        enrolment.enrol(
            s, vendor_id="microsoft", programme_id="mezzanine@actebis", resellers=[("R-1001", None)], actor="test"
        )
    sign_in(client, keys["officer"])
    page = client.get("/console/distributors/actebis/listings/expiring?within_days=200").text
    assert "30 juin 2026" in page and "2026-06-30" not in page
    assert "5\u202f000,00\u00a0€" in page
    csv = client.get("/console/distributors/actebis/listings/expiring.csv?within_days=200").text
    assert ",2026-06-30," in csv and ",5000.00," in csv


def test_every_page_answers_with_something_in_each_of_its_tables(console: Any) -> None:
    """Every page and download, on both databases, once each list holds rows: R-1001 enrolled in
    Mezzanine and drawing on it, R-1003 over its limit, a hold placed and lifted."""
    from creditlines import ledger
    from creditlines.programmes import enrolment
    from tests.factories import eur

    client, keys, uow = console
    with uow.write() as s:
        enrolment.enrol(
            s,
            vendor_id="microsoft",
            programme_id="mezzanine@actebis",
            resellers=[("R-1001", None), ("R-1002", eur("1000"))],
            actor="test",
        )
        ledger.draw(
            s,
            distributor_id="actebis",
            reseller_id="R-1001",
            reference="FA/2026/0042",
            amount=eur("9000"),
            actor="test",
        )
    token = sign_in(client, keys["officer"])
    r = "/console/distributors/actebis/resellers/R-1001"
    assert client.post(r + "/hold", data={"csrf": token, "reason": "overdue"}).status_code == 200
    assert client.post(r + "/hold/lift", data={"csrf": token, "reason": "paid"}).status_code == 200
    for page in (
        "/console/",
        "/console/distributors/actebis/resellers?q=r-10&status=active&over_limit=no",
        "/console/distributors/actebis/resellers?over_limit=yes",
        r,
        r + "?amount=7%20500,00&vendor=microsoft",
        r + "?before=3",
        "/console/distributors/actebis/listings",
        "/console/distributors/actebis/listings/expiring?within_days=3660",
        "/console/distributors/actebis/listings/expiring.csv?within_days=3660",
        "/console/distributors/actebis/listings/over-limit",
        "/console/distributors/actebis/listings/over-limit.csv",
    ):
        answer = client.get(page)
        assert answer.status_code == 200, page
    assert "FA/2026/0042" in client.get(r).text
    client.cookies.clear()
    sign_in(client, keys["partner"])
    for page in (
        "/console/vendors/microsoft/programmes",
        "/console/vendors/microsoft/programmes/mezzanine@actebis",
        "/console/vendors/microsoft/programmes/mezzanine@actebis?after=R-1001,x",
    ):
        assert client.get(page).status_code == 200, page


def test_a_key_pasted_from_a_terminal_with_spaces_around_it_signs_in(console: Any) -> None:
    """Copying the key that `scripts/serve` printed often takes the spaces or the line break
    around it; keys never hold white space, so it is dropped, not reported as an unknown key."""
    client, keys, _ = console
    token = csrf_of(client.get("/console/sign-in").text)
    answer = client.post(
        "/console/sign-in", data={"csrf": token, "api_key": f"  {keys['officer']} \n"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/distributors/actebis/resellers"
    client.cookies.clear()
    token = csrf_of(client.get("/console/sign-in").text)
    answer = client.post("/console/sign-in", data={"csrf": token, "api_key": keys["officer"][:-1] + " x"})
    assert answer.status_code == 401 and "Unknown or revoked API key." in answer.text


def test_a_forged_cookie_or_token_with_non_ascii_characters_is_refused_not_500(console: Any) -> None:
    """hmac.compare_digest raises TypeError on str holding non-ASCII characters: a cookie whose
    signature part, or a form whose csrf field, held "é" answered 500 instead of a refusal."""
    client, keys, _ = console
    token = sign_in(client, keys["officer"])
    cookie = client.cookies[COOKIE]
    body, mac = cookie.rsplit(".", 1)
    answer = client.post(
        "/console/distributors/actebis/resellers/R-1001/hold", data={"csrf": token[:-1] + "é", "reason": "x"}
    )
    assert answer.status_code == 403 and "Form refused" in answer.text
    client.cookies.clear()
    raw = f"{COOKIE}={body}.{mac[:-1]}".encode() + "é".encode()
    answer = client.get(
        "/console/distributors/actebis/resellers",
        headers={"Cookie": raw},  # type: ignore[dict-item]
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in")


def test_enrolment_answers_what_the_api_answers_for_the_same_rows(console: Any) -> None:
    """Two twin programmes of two places each: the same rows through the API into one and through
    the console into the other give the same outcome per reseller, then again (already granted)."""
    import re
    from datetime import date

    from creditlines.programmes import service as programmes
    from tests.factories import eur

    client, keys, uow = console
    with uow.write() as s:
        for code in ("twin-api", "twin-console"):
            programmes.create_programme(
                s,
                vendor_id="microsoft",
                distributor_id="actebis",
                code=code,
                name=code,
                kind="standing",
                line_limit=eur("5000"),
                starts_on=date(2026, 2, 1),
                ends_on=date(2026, 6, 30),
                max_beneficiaries=2,
            )
    rows = [("R-1001", None), ("R-1002", "1000.00"), ("R-404", None), ("R-1003", None)]
    token = sign_in(client, keys["partner"])
    for _ in range(2):
        api = client.post(
            "/v1/vendors/microsoft/programmes/twin-api@actebis/enrolments",
            headers={"Authorization": f"Bearer {keys['partner']}"},
            json={
                "resellers": [
                    {"reseller_id": r, **({"limit": {"amount": limit, "currency": "EUR"}} if limit else {})}
                    for r, limit in rows
                ]
            },
        )
        assert api.status_code == 200, api.text
        page = client.post(
            "/console/vendors/microsoft/programmes/twin-console@actebis/enrolments",
            data={"csrf": token, "rows": "\n".join(f"{r};{limit or ''}" for r, limit in rows)},
        )
        console_outcomes = re.findall(r'<tr class="outcome-([a-z_]+)"><td>\d+</td><td>([^<]+)</td>', page.text)
        assert [(o, r) for r, o in console_outcomes] == [
            (x["reseller_id"], x["outcome"]) for x in api.json()["results"]
        ]


def test_pages_and_downloads_forbid_type_sniffing(console: Any) -> None:
    """A CSV whose cells hold markup must never be sniffed into a page: nosniff on both."""
    client, keys, _ = console
    sign_in(client, keys["officer"])
    for path in (
        "/console/distributors/actebis/listings/over-limit",
        "/console/distributors/actebis/listings/over-limit.csv",
    ):
        assert client.get(path).headers.get("x-content-type-options") == "nosniff", path


def test_only_date_fields_are_read_as_dates() -> None:
    from console import fmt

    assert fmt.cell("valid_until", "2026-06-30") == "30 juin 2026"
    assert fmt.cell("reseller_id", "2026-06-30") == "2026-06-30"  # an id may look like a date
    assert fmt.cell("valid_until", "2026-02-30") == "2026-02-30" and fmt.cell("on_expiry", None) == ""
