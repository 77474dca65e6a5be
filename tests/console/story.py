"""The console's story: Actebis (EUR, Paris) and ETC; Microsoft admitted at Actebis and running
Mezzanine there; three Actebis resellers, one of them over its limit, named like a formula."""

from __future__ import annotations

from datetime import date

from creditlines import ledger
from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from creditlines.programmes import service as programmes
from creditlines.tenants import service as tenants
from tests.factories import eur, make_world

NOW = "2026-03-02T09:00:00+00:00"  # 10:00 in Paris


def load(uow: UnitOfWork) -> dict[str, str]:
    make_world(uow, admit=("microsoft",))
    with uow.write() as s:
        tenants.create_distributor(s, id="etc", name="ETC", currency="EUR", timezone="Europe/Paris")
        for rid, name, limit in (
            ("R-1001", "Bureau Vallée Lyon", "10000"),
            ("R-1002", "Informatique Dupont Lille", "2000"),
            ("R-1003", '=HYPERLINK("http://evil")', "1000"),
        ):
            ledger.upsert_reseller(s, distributor_id="actebis", reseller_id=rid, name=name, actor="test")
            ledger.set_base_limit(
                s, distributor_id="actebis", reseller_id=rid, limit=eur(limit), reason="insurer cover", actor="test"
            )
        ledger.draw(
            s, distributor_id="actebis", reseller_id="R-1001", reference="SO-1", amount=eur("2500"), actor="test"
        )
        ledger.draw(
            s, distributor_id="actebis", reseller_id="R-1003", reference="SO-2", amount=eur("800"), actor="test"
        )
        ledger.set_base_limit(
            s, distributor_id="actebis", reseller_id="R-1003", limit=eur("500"), reason="cover cut", actor="test"
        )
        programmes.create_programme(
            s,
            vendor_id="microsoft",
            distributor_id="actebis",
            code="mezzanine",
            name="Microsoft Mezzanine",
            kind="standing",
            line_limit=eur("5000"),
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 6, 30),
            max_beneficiaries=100,
            max_total_limit=eur("200000"),
        )
        keys = {
            "officer": auth.create_key(s, role="credit_officer", distributor_id="actebis")[1],
            "officer_etc": auth.create_key(s, role="credit_officer", distributor_id="etc")[1],
            "partner": auth.create_key(s, role="partner_manager", vendor_id="microsoft")[1],
            "erp": auth.create_key(s, role="integration", distributor_id="actebis")[1],
        }
    return keys
