"""An ERP integrator generates a client from the live OpenAPI document and it works.

`openapi-python-client` (scripts/codegen.py, its own virtualenv) generates a package from the
/openapi.json of a served app (`creditlines serve`); the test imports it and calls
`check_eligibility` and `post_drawing` by those names: money comes back typed (MoneyOut, a decimal
string and a currency), a refusal comes back as a `Problem` with its code (both databases).
"""

from __future__ import annotations

import importlib
import sys
from decimal import Decimal

import httpx
import pytest

from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from scripts.codegen import generate
from tests.conftest import DEFAULT_NOW
from tests.factories import make_reseller, make_world
from tests.harness import serve


@pytest.fixture
def served(engine):
    """`creditlines serve` on a world of Actebis, reseller R-1 at EUR 10,000, an ERP key."""
    uow = UnitOfWork(engine)
    make_world(uow)
    make_reseller(uow, "R-1", 10_000)
    with uow.write() as s:
        _, key = auth.create_key(s, role="integration", distributor_id="actebis")
    uow.dispose()
    url = engine.url.render_as_string(hide_password=False)
    with serve(url, admin_key="generated-client-admin-key-of-32-characters", now=DEFAULT_NOW, workers=1) as server:
        yield server.base, key


@pytest.fixture
def client_package(served, tmp_path, engine):
    base, _ = served
    document = httpx.get(base + "/openapi.json", timeout=10).json()
    package = f"creditlines_client_{engine.dialect.name}"
    generate(document, tmp_path, package)
    sys.path.insert(0, str(tmp_path))
    try:
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def test_a_generated_client_checks_draws_and_is_refused_with_a_problem(served, client_package):
    base, key = served
    client_mod = importlib.import_module(client_package)
    check_eligibility = importlib.import_module(f"{client_package}.api.resellers.check_eligibility")
    post_drawing = importlib.import_module(f"{client_package}.api.resellers.post_drawing")
    models = importlib.import_module(f"{client_package}.models")

    def eur(amount: str):
        return models.MoneyIn(amount=amount, currency="EUR")

    with client_mod.AuthenticatedClient(base_url=base, token=key) as erp:
        decision = check_eligibility.sync(
            distributor_id="actebis", reseller_id="R-1", client=erp, body=models.EligibilityIn(amount=eur("7500.00"))
        )
        assert isinstance(decision, models.DecisionOut) and decision.eligible
        assert isinstance(decision.available, models.MoneyOut)
        assert (Decimal(decision.available.amount), decision.available.currency) == (Decimal("10000.00"), "EUR")

        drawn = post_drawing.sync(
            distributor_id="actebis",
            reseller_id="R-1",
            client=erp,
            body=models.DrawingIn(reference="SO-2026-000123", amount=eur("7500.00")),
        )
        assert isinstance(drawn, models.DrawingOut) and drawn.outstanding.amount == "7500.00"

        refused = post_drawing.sync_detailed(
            distributor_id="actebis",
            reseller_id="R-1",
            client=erp,
            body=models.DrawingIn(reference="SO-2026-000124", amount=eur("4000.00")),
        )
    assert refused.status_code == 409
    problem = refused.parsed
    assert isinstance(problem, models.Problem) and problem.code == "insufficient_credit"
    assert (problem.available.amount, problem.shortfall.amount) == ("2500.00", "1500.00")
