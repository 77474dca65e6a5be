"""CSV listings never hand a spreadsheet a formula (OWASP CSV injection, SPEC §15).

Text cells starting with = + - @ tab or carriage return get a leading single quote; amount
columns stay plain numbers, negative ones included.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from creditlines import ledger
from creditlines.csvdoc import csv_cell, to_csv
from creditlines.jobs import listings
from creditlines.ledger.models import Reseller
from tests.conftest import DEFAULT_NOW
from tests.factories import eur, make_reseller, make_world

ADMIN = "csv-admin-key-of-at-least-32-characters"
HYPERLINK = '=HYPERLINK("http://x","y")'
# one name per dangerous first character; the API takes the printable ones as any client would send them,
# the tab and carriage return ones are written to the table directly (data older than today's validation)
BY_API = {"R-1": HYPERLINK, "R-2": "+33 4 72 00 00 00", "R-3": "-1+1|cmd", "R-4": "@SUM(A1:A9)"}
BY_TABLE = {"R-5": "\t=1+1", "R-6": "\r=1+1"}
NAMES = {**BY_API, **BY_TABLE, "@R-7": "Reseller @R-7"}  # an identifier may start with @ or - too


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_text_cells_are_neutralised_and_amounts_stay_numbers():
    row = listings.OverLimitRow("-R-9", "=cmd|' /C calc'!A0", "active", "-120.00", "0", "120.00", "EUR")
    assert to_csv([row], listings.OVER_LIMIT_FIELDS) == (
        "reseller_id,reseller_name,status,total_limit,total_drawn,over_limit_by,currency\r\n"
        "'-R-9,'=cmd|' /C calc'!A0,active,-120.00,0,120.00,EUR\r\n"
    )
    cr = listings.OverLimitRow("R-1", "a\rb", "active", "1.00", "2.00", "1.00", "EUR")
    assert rows(to_csv([cr], listings.OVER_LIMIT_FIELDS))[1][1] == "a\rb"  # quoted: one cell, one row
    for first in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(first + "x") == "'" + first + "x"
        assert csv_cell(first + "x", amount=True) == "'" + first + "x"  # not a number: text after all
    assert csv_cell("-120.00", amount=True) == "-120.00"
    assert csv_cell("-120.00") == "'-120.00"  # by column, not by value: in a text column it is text
    assert csv_cell("x=1") == "x=1" and csv_cell(None) == "" and csv_cell("") == ""


@pytest.fixture
def dangerous(engine, monkeypatch):
    """Resellers with a formula-like name (or id), each over limit, one with a line ending soon."""
    from api.app import create_app
    from creditlines.config import get_settings

    monkeypatch.setenv("CREDITLINES_ADMIN_KEY", ADMIN)
    get_settings.cache_clear()
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(url)
    uow = app.state.uow
    make_world(uow)
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        for rid, name in BY_API.items():
            put = client.put(f"/v1/distributors/actebis/resellers/{rid}", headers=admin, json={"name": name})
            assert put.status_code == 201, put.text
        for rid in BY_TABLE:
            make_reseller(uow, rid)
        make_reseller(uow, "@R-7")
        with uow.write() as s:
            for rid, name in BY_TABLE.items():
                s.execute(update(Reseller).where(Reseller.id == rid).values(name=name))
        for i, rid in enumerate(NAMES):
            with uow.write() as s:
                ledger.set_base_limit(
                    s, distributor_id="actebis", reseller_id=rid, limit=eur("1000.00"), reason="open", actor="test"
                )
                ledger.draw(
                    s, distributor_id="actebis", reseller_id=rid, reference=f"SO-{i}", amount=eur("500.00"), actor="erp"
                )
                ledger.set_base_limit(
                    s, distributor_id="actebis", reseller_id=rid, limit=eur("100.00"), reason="cut", actor="test"
                )
        with uow.write() as s:
            ledger.grant_programme_line(
                s,
                distributor_id="actebis",
                reseller_id="R-1",
                vendor_id="microsoft",
                programme_id=None,
                limit=eur("200.00"),
                valid_until=date(2026, 3, 20),
                on_expiry="transfer_to_base",
                actor="partner",
            )
        yield client, url
    uow.dispose()
    get_settings.cache_clear()


def cli(url: str, *args: str) -> str:
    """What the command prints, byte for byte (no newline translation: a cell may hold a carriage return)."""
    env = {**os.environ, "CREDITLINES_DATABASE_URL": url, "CREDITLINES_NOW": DEFAULT_NOW}
    done = subprocess.run([sys.executable, "-m", "creditlines", *args], capture_output=True, env=env)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def assert_neutralised(table: list[list[str]]) -> None:
    for row in table[1:]:
        for cell in row:
            assert (
                not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                or cell.startswith("-")
                and cell.replace("-", "", 1).replace(".", "", 1).isdigit()
            ), row


def test_over_limit_csv_through_the_api_and_the_cli(dangerous):
    client, url = dangerous
    answer = client.get(
        "/v1/distributors/actebis/reports/over-limit",
        headers={"Authorization": f"Bearer {ADMIN}", "Accept": "text/csv"},
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert (
        cli(url, "report", "over-limit", "--distributor", "actebis", "--format", "csv") == answer.text
    )  # one writer for both
    table = rows(answer.text)
    by_id = {row[0]: row for row in table[1:]}
    assert set(by_id) == {rid if rid[0] not in "@-" else "'" + rid for rid in NAMES}
    assert by_id["R-1"] == ["R-1", "'" + HYPERLINK, "active", "300.00", "500.00", "200.00", "EUR"]
    for rid, name in {**BY_API, **BY_TABLE}.items():
        assert by_id[rid][1] == "'" + name
    assert by_id["'@R-7"][1] == "Reseller @R-7"  # only a leading character counts
    assert_neutralised(table)


def test_expiring_csv_through_the_api_and_the_cli(dangerous):
    client, url = dangerous
    answer = client.get(
        "/v1/distributors/actebis/reports/expiring",
        params={"within_days": 30},
        headers={"Authorization": f"Bearer {ADMIN}", "Accept": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    assert (
        cli(url, "report", "expiring", "--distributor", "actebis", "--within-days", "30", "--format", "csv")
        == answer.text
    )
    header, line = rows(answer.text)
    assert dict(zip(header, line, strict=True)) | {"line_id": ""} == {
        "reseller_id": "R-1",
        "reseller_name": "'" + HYPERLINK,
        "line_id": "",
        "programme_id": "",
        "funder": "microsoft",
        "limit": "200.00",
        "drawn": "0.00",
        "currency": "EUR",
        "valid_until": "2026-03-20",
        "on_expiry": "transfer_to_base",
    }
