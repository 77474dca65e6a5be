"""A real server (`creditlines serve --workers 2`) on a PostgreSQL database of this module's own,
shared by the races of a module: each race gets a distributor of its own (its scenario), so
races never see one another's resellers or programmes.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from creditlines.db.engine import UnitOfWork, make_engine
from tests.concurrency.scenario import ADMIN, NOW, Scenarios
from tests.harness import app_url, pg_database, serve
from tests.invariants import install_witness


@pytest.fixture(scope="module")
def race_db(pg_url) -> Iterator[str]:
    """A migrated database for this module (``pg_url`` decides whether PostgreSQL is there)."""
    with pg_database("creditlines_race") as url:
        install_witness(url)
        yield url


@pytest.fixture(scope="module")
def race_server(race_db):
    with serve(app_url(race_db), admin_key=ADMIN, now=NOW, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def scenarios(race_db, race_server) -> Iterator[Scenarios]:
    engine = make_engine(race_db, pool_size=4)
    with httpx.Client(
        base_url=race_server.base, timeout=30, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
    ) as client:
        yield Scenarios(client, UnitOfWork(engine), race_server)
    engine.dispose()
