"""The PL/pgSQL files in creditlines/db/sql/: loaded by name, and never edited once shipped.

A migration that has run is never edited, and neither is the SQL file it loads: a database
that ran it holds that text. The digests below pin every shipped file; a new version of a
function is a new ``<name>_<revision>.pg.sql`` and a new migration (creditlines.db.sqlfiles),
and its digest is added here.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from creditlines.db import sqlfiles

SHIPPED = {
    "creditlines_draw_0002": "d9d45776adde6f3139fd5a9bec7c47c855eceb7c8c3ddd75eb92184165bbda13",
    "creditlines_draw_0005": "7b45e098b7103121c93954ec9e7c309c64ffbbfc796ebf8c01d517f8ab60616a",
    "creditlines_draw_0010": "fcb59153fd04d419a621a7d5e53ce22966140329e4692c47b1c327318f277535",
    "creditlines_draw_0011": "01e40c10cff3f47639a436172ece705a9a2055ec0797f882b83d6f9cea043dc2",
    "creditlines_draw_many_0013": "6cb3f0a884f5ac4623ead56b485391aff8099b88ab0d3aa12fe80f463ce4105d",
    "ledger_entry_append_only_0001": "d0b9d5dcbc8f52d8f5b787be4a6ff131a036f932a4d90d1306215648ef94641b",
    "table_append_only_0003": "cc7b243c857b8ac8d4b94c7d69782469c14b92a7ca905585e4a454a329b58788",
    "table_append_only_0005": "63c3415c8dad32104921580d91208c6b9d8dd34867e9f786cf81ebf0697f7a46",
    "table_append_only_0006": "bdc54f382841a35bc9b3742cd2ccce1480de832fee5a5d0c5e2b04564e3d7ff0",
}


def _files() -> set[str]:
    folder = resources.files("creditlines.db").joinpath("sql")
    return {f.name.removesuffix(sqlfiles.SUFFIX) for f in folder.iterdir() if f.name.endswith(sqlfiles.SUFFIX)}


def test_every_file_is_pinned_and_named_after_its_revision():
    assert _files() == set(SHIPPED), "a new .pg.sql file gets its digest in SHIPPED (and an old one never goes)"
    for name in SHIPPED:
        stem, _, revision = name.rpartition("_")
        assert stem and len(revision) == 4 and revision.isdigit(), f"{name}: <name>_<revision>.pg.sql"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_file_is_never_edited(name):
    digest = hashlib.sha256(sqlfiles.load(name).encode("utf-8")).hexdigest()
    assert digest == SHIPPED[name], (
        f"{name}.pg.sql changed after its migration shipped: put the new version in a new file "
        "and install it with a new migration"
    )


@pytest.mark.parametrize("name", ["", "../models", "sql/creditlines_draw_0005", "creditlines_draw_0005.pg.sql"])
def test_load_takes_a_bare_name(name):
    with pytest.raises(ValueError, match="without its .pg.sql suffix"):
        sqlfiles.load(name)
