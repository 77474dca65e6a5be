"""The credit desk admits and ends vendors from the command line (`creditlines partners …`)."""

from __future__ import annotations

from typer.testing import CliRunner

from creditlines.cli import app
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork
from tests.factories import make_world


def test_admit_list_end_from_the_cli(engine, monkeypatch):
    uow = UnitOfWork(engine)
    make_world(uow, admit=())
    monkeypatch.setenv("CREDITLINES_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(app, ["partners", *args])

    admitted = cli("admit", "-d", "actebis", "-v", "microsoft", "--max-line-limit", "5000.00", "--note", "Mezzanine")
    assert admitted.exit_code == 0, admitted.output
    assert "microsoft admitted at actebis" in admitted.stdout and "5\u202f000,00\xa0€" in admitted.stdout
    inexact = cli("admit", "-d", "actebis", "-v", "hp", "--max-line-limit", "10.001")
    assert inexact.exit_code == 2 and "invalid_amount" in inexact.output
    unknown = cli("admit", "-d", "actebis", "-v", "nobody")
    assert unknown.exit_code == 2 and "not_found" in unknown.output

    listed = cli("list", "-d", "actebis")
    assert listed.exit_code == 0 and "microsoft" in listed.stdout and "active" in listed.stdout
    ended = cli("end", "-d", "actebis", "-v", "microsoft")
    assert ended.exit_code == 0 and "ended" in ended.stdout
    mine = cli("list", "-v", "microsoft")
    assert "actebis" in mine.stdout and "ended" in mine.stdout
    assert cli("list").exit_code == 2
    get_settings.cache_clear()
