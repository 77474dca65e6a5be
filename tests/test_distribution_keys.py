"""The write scale-out path (docs/SCALING.md): the schema can be distributed by distributor (Citus)
only if every table holding a distributor's rows leads its primary key, its unique keys and its
foreign keys to other such tables with ``distributor_id``, so that each key and each join stays
on one shard. Checked on the migrated schema of both databases; a new table must take a side."""

from sqlalchemy import inspect

from tests.invariants import WITNESS_TABLE

# Shared by every distributor (Citus reference tables, or kept on the coordinator): the tenants
# themselves, keys and webhook subscriptions (an admin's or a vendor's span distributors), the
# webhook attempts (keyed by their subscription) and the console's sign-outs.
REFERENCE = {"alembic_version", "distributor", "vendor", "api_key", "webhook", "webhook_attempt", "console_sign_out"}


def test_every_key_of_a_distributors_table_leads_with_distributor_id(engine):
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    distributed = tables - REFERENCE - {WITNESS_TABLE}  # a table the privilege tests create and keep
    assert distributed, tables
    broken = []
    for table in sorted(distributed):
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        if "distributor_id" not in columns or columns["distributor_id"]["nullable"]:
            broken.append(f"{table}: no NOT NULL distributor_id (distribute it, or list it in REFERENCE)")
            continue
        keys = [("primary key", inspector.get_pk_constraint(table)["constrained_columns"])]
        keys += [(f"unique {u['name']}", u["column_names"]) for u in inspector.get_unique_constraints(table)]
        keys += [(f"unique index {i['name']}", i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]]
        for what, cols in keys:
            if not cols or cols[0] != "distributor_id":
                broken.append(f"{table}: {what} {cols}")
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] in REFERENCE:
                continue
            if fk["constrained_columns"][:1] != ["distributor_id"] or fk["referred_columns"][:1] != ["distributor_id"]:
                broken.append(f"{table}: foreign key {fk['constrained_columns']} -> {fk['referred_table']}")
    assert broken == []
