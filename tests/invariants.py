"""What must hold in the database whatever ran before, checked by SQL after a race or a fault.

Used by the concurrency matrix (``tests/concurrency``) and the fault script
(``scripts/fault/drawings_under_faults.py``). :func:`violations` returns one readable line per
broken rule (empty: all hold). ``creditlines verify`` is the other half: it folds the ledger
back into balances; these rules are the ones the ledger alone cannot see (budgets, programme
dates, what a close forbids, drawings against their ledger entries).

:func:`install_witness` adds a test-only trigger that records, at the instant a programme line
is inserted, the programme's status and ``ends_on`` as a fresh statement sees them. With the
clock fixed (``CREDITLINES_NOW``) ``granted_at`` equals ``closed_at`` and cannot say which came
first; the witness can: the grant holds the programme's lock (and the partnership's share
lock), so what it sees is what was committed before it — the programme's status and ``ends_on``
and the partnership's status, for "nothing granted after a close / after the partnership ended".
"""

from __future__ import annotations

from datetime import datetime

import psycopg

WITNESS_TABLE = "zz_test_grant_witness"

WITNESS_DDL = f"""
CREATE TABLE IF NOT EXISTS {WITNESS_TABLE} (
    distributor_id varchar(64) NOT NULL,
    line_id varchar(36) NOT NULL,
    programme_id varchar(130) NOT NULL,
    valid_until date,
    programme_status varchar(16),
    programme_kind varchar(24),
    programme_ends_on date,
    partnership_status varchar(16)
);
-- Created by the superuser; the checks may run as the service's own role, which reads it.
GRANT SELECT ON {WITNESS_TABLE} TO PUBLIC;
CREATE OR REPLACE FUNCTION zz_test_witness_grant() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    -- A fresh snapshot per statement (READ COMMITTED, volatile function): the programme as
    -- committed now, not as the granting transaction read it earlier.
    INSERT INTO {WITNESS_TABLE}
    SELECT NEW.distributor_id, NEW.id, NEW.programme_id, NEW.valid_until, p.status, p.kind, p.ends_on,
           (SELECT ps.status FROM partnership ps
             WHERE ps.distributor_id = NEW.distributor_id AND ps.vendor_id = NEW.vendor_id)
      FROM programme p
     WHERE p.distributor_id = NEW.distributor_id AND p.vendor_id = NEW.vendor_id AND p.id = NEW.programme_id;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS zz_test_witness_grant ON line;
CREATE TRIGGER zz_test_witness_grant AFTER INSERT ON line
    FOR EACH ROW WHEN (NEW.kind = 'programme') EXECUTE FUNCTION zz_test_witness_grant();
"""


def install_witness(url: str) -> None:
    """Test databases only: record every programme grant with the programme as committed then."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(WITNESS_DDL)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# Each rule: (name, SQL returning one row per violation, with a readable first column). The
# parameters are %(d)s (a distributor id, or NULL for all) and %(now)s (the current instant).
_TODAY = "(%(now)s::timestamptz AT TIME ZONE dist.timezone)::date"
RULES: list[tuple[str, str]] = [
    (
        "budget (beneficiaries)",
        f"""
        SELECT p.id || ': ' || count(l.id) || ' active lines > max_beneficiaries ' || p.max_beneficiaries
          FROM programme p JOIN distributor dist ON dist.id = p.distributor_id
          JOIN line l ON l.distributor_id = p.distributor_id AND l.vendor_id = p.vendor_id AND l.programme_id = p.id
               AND l.status = 'active' AND l.valid_until >= {_TODAY}
         WHERE p.max_beneficiaries IS NOT NULL AND (%(d)s::text IS NULL OR p.distributor_id = %(d)s)
         GROUP BY p.distributor_id, p.vendor_id, p.id, p.max_beneficiaries
        HAVING count(l.id) > p.max_beneficiaries""",
    ),
    (
        "budget (total limit)",
        f"""
        SELECT p.id || ': active limits ' || sum(l.limit_minor) || ' > max_total_limit ' || p.max_total_limit_minor
          FROM programme p JOIN distributor dist ON dist.id = p.distributor_id
          JOIN line l ON l.distributor_id = p.distributor_id AND l.vendor_id = p.vendor_id AND l.programme_id = p.id
               AND l.status = 'active' AND l.valid_until >= {_TODAY}
         WHERE p.max_total_limit_minor IS NOT NULL AND (%(d)s::text IS NULL OR p.distributor_id = %(d)s)
         GROUP BY p.distributor_id, p.vendor_id, p.id, p.max_total_limit_minor
        HAVING sum(l.limit_minor) > p.max_total_limit_minor""",
    ),
    (
        "standing line ends on its programme's ends_on",
        """
        SELECT p.id || ': line ' || l.id || ' of ' || l.reseller_id || ' valid until ' || l.valid_until
               || ', programme ends on ' || p.ends_on
          FROM programme p
          JOIN line l ON l.distributor_id = p.distributor_id AND l.vendor_id = p.vendor_id AND l.programme_id = p.id
         WHERE p.kind = 'standing' AND l.status = 'active' AND l.valid_until <> p.ends_on
           AND (%(d)s::text IS NULL OR p.distributor_id = %(d)s)""",
    ),
    (
        "one active line per reseller and programme",
        f"""
        SELECT l.programme_id || ': ' || l.reseller_id || ' holds ' || count(*) || ' active lines'
          FROM line l JOIN distributor dist ON dist.id = l.distributor_id
         WHERE l.kind = 'programme' AND l.status = 'active' AND l.valid_until >= {_TODAY}
           AND (%(d)s::text IS NULL OR l.distributor_id = %(d)s)
         GROUP BY l.distributor_id, l.vendor_id, l.programme_id, l.reseller_id HAVING count(*) > 1""",
    ),
    (
        "nothing granted after a close",
        """
        SELECT p.id || ': line ' || l.id || ' granted at ' || l.granted_at || ' after the close at ' || p.closed_at
          FROM programme p
          JOIN line l ON l.distributor_id = p.distributor_id AND l.vendor_id = p.vendor_id AND l.programme_id = p.id
         WHERE p.closed_at IS NOT NULL AND l.granted_at > p.closed_at
           AND (%(d)s::text IS NULL OR p.distributor_id = %(d)s)""",
    ),
    (
        "no active programme line of a terminated reseller",
        """
        SELECT l.programme_id || ': line ' || l.id || ' of terminated ' || r.id || ' is still active'
          FROM line l JOIN reseller r ON r.distributor_id = l.distributor_id AND r.id = l.reseller_id
         WHERE r.status = 'terminated' AND l.kind = 'programme' AND l.status = 'active'
           AND (%(d)s::text IS NULL OR l.distributor_id = %(d)s)""",
    ),
    (
        "a limit request decided once in the ledger",
        """
        SELECT 'limit request ' || q.id || ' (' || q.status || ') has ' || count(e.seq) || ' decision entries'
          FROM limit_request q
          LEFT JOIN ledger_entry e ON e.distributor_id = q.distributor_id AND e.reseller_id = q.reseller_id
               AND e.kind IN ('limit_request_approved', 'limit_request_rejected', 'limit_request_expired',
                            'limit_request_superseded')
               AND e.details::jsonb ->> 'request_id' = q.id
         WHERE (%(d)s::text IS NULL OR q.distributor_id = %(d)s)
         GROUP BY q.distributor_id, q.id, q.status
        HAVING count(e.seq) <> CASE WHEN q.status = 'pending' THEN 0 ELSE 1 END""",
    ),
    (
        "an approved nomination holds its line, granted in its programme",
        """
        SELECT 'nomination ' || n.id || ' approved without its line in ' || n.programme_id
          FROM nomination n
          LEFT JOIN line l ON l.distributor_id = n.distributor_id AND l.id = n.line_id
               AND l.programme_id = n.programme_id AND l.reseller_id = n.reseller_id
         WHERE n.status = 'approved' AND l.id IS NULL
           AND (%(d)s::text IS NULL OR n.distributor_id = %(d)s)""",
    ),
    (
        "every cover decision is in the ledger",
        """
        SELECT 'cover of ' || c.reseller_id || ' (seq ' || c.seq || ') has no insurance_set entry'
          FROM insurance_cover c
          LEFT JOIN ledger_entry e ON e.distributor_id = c.distributor_id AND e.reseller_id = c.reseller_id
               AND e.seq = c.seq AND e.kind = 'insurance_set' AND e.amount_minor = c.cover_minor
         WHERE e.seq IS NULL AND (%(d)s::text IS NULL OR c.distributor_id = %(d)s)""",
    ),
    (
        "drawn within bounds",
        """
        SELECT 'line ' || l.id || ' (' || l.kind || ', ' || l.reseller_id || '): drawn ' || l.drawn_minor
               || ', limit ' || l.limit_minor
          FROM line l
         WHERE (l.drawn_minor < 0 OR (l.kind = 'programme' AND l.drawn_minor > l.limit_minor))
           AND (%(d)s::text IS NULL OR l.distributor_id = %(d)s)""",
    ),
    (
        "allocations add up to their drawing",
        """
        SELECT 'drawing ' || d.reseller_id || '/' || d.reference || ': outstanding ' || d.outstanding_minor
               || ', allocations ' || coalesce(sum(a.outstanding_minor), 0) || ' outstanding of '
               || coalesce(sum(a.amount_minor), 0)
          FROM drawing d LEFT JOIN allocation a ON a.distributor_id = d.distributor_id
               AND a.reseller_id = d.reseller_id AND a.drawing_reference = d.reference
         WHERE (%(d)s::text IS NULL OR d.distributor_id = %(d)s)
         GROUP BY d.distributor_id, d.reseller_id, d.reference, d.outstanding_minor, d.amount_minor, d.status
        HAVING coalesce(sum(a.outstanding_minor), 0) <> d.outstanding_minor
            OR coalesce(sum(a.amount_minor), 0) <> CASE WHEN d.status IN ('held', 'cancelled', 'expired')
                                                        THEN 0 ELSE d.amount_minor END""",
    ),
    (
        "allocations add up to their line",
        """
        SELECT 'line ' || l.id || ': drawn ' || l.drawn_minor || ', allocations outstanding '
               || coalesce(sum(a.outstanding_minor), 0)
          FROM line l LEFT JOIN allocation a ON a.distributor_id = l.distributor_id AND a.line_id = l.id
         WHERE (%(d)s::text IS NULL OR l.distributor_id = %(d)s)
         GROUP BY l.distributor_id, l.id, l.drawn_minor
        HAVING coalesce(sum(a.outstanding_minor), 0) <> l.drawn_minor""",
    ),
    (
        "every drawing posted once in the ledger",
        """
        SELECT 'drawing ' || d.reseller_id || '/' || d.reference || ': ' || count(e.seq)
               || ' drawing_posted entries, amounts ' || coalesce(string_agg(e.amount_minor::text, ','), '-')
               || ' for ' || d.amount_minor
          FROM drawing d LEFT JOIN ledger_entry e ON e.distributor_id = d.distributor_id
               AND e.reseller_id = d.reseller_id AND e.drawing_reference = d.reference AND e.kind = 'drawing_posted'
         WHERE (%(d)s::text IS NULL OR d.distributor_id = %(d)s)
         GROUP BY d.distributor_id, d.reseller_id, d.reference, d.amount_minor, d.status
        HAVING count(e.seq) <> CASE WHEN d.status IN ('held', 'cancelled', 'expired') THEN 0 ELSE 1 END
            OR min(e.amount_minor) <> d.amount_minor""",
    ),
    (
        "every drawing allocated in the ledger",
        """
        SELECT 'drawing ' || d.reseller_id || '/' || d.reference || ': ledger allocates '
               || coalesce(sum(e.drawn_delta_minor), 0) || ' of ' || d.amount_minor
          FROM drawing d LEFT JOIN ledger_entry e ON e.distributor_id = d.distributor_id
               AND e.reseller_id = d.reseller_id AND e.drawing_reference = d.reference AND e.kind = 'drawing_allocated'
         WHERE (%(d)s::text IS NULL OR d.distributor_id = %(d)s)
         GROUP BY d.distributor_id, d.reseller_id, d.reference, d.amount_minor, d.status
        HAVING coalesce(sum(e.drawn_delta_minor), 0) <> CASE WHEN d.status IN ('held', 'cancelled', 'expired')
                                                        THEN 0 ELSE d.amount_minor END""",
    ),
    (
        "held orders counted on their reseller",
        """
        SELECT 'reseller ' || r.id || ': held_count ' || r.held_count || ', held orders ' || count(d.reference)
          FROM reseller r LEFT JOIN drawing d ON d.distributor_id = r.distributor_id AND d.reseller_id = r.id
               AND d.status = 'held'
         WHERE (%(d)s::text IS NULL OR r.distributor_id = %(d)s)
         GROUP BY r.distributor_id, r.id, r.held_count
        HAVING count(d.reference) <> r.held_count""",
    ),
    (
        "no ledger drawing without its row",
        """
        SELECT 'ledger entry ' || e.reseller_id || '#' || e.seq || ' posts drawing ' || e.drawing_reference
               || ', which does not exist'
          FROM ledger_entry e LEFT JOIN drawing d ON d.distributor_id = e.distributor_id
               AND d.reseller_id = e.reseller_id AND d.reference = e.drawing_reference
         WHERE e.kind = 'drawing_posted' AND d.reference IS NULL
           AND (%(d)s::text IS NULL OR e.distributor_id = %(d)s)""",
    ),
]

WITNESS_RULES: list[tuple[str, str]] = [
    (
        "nothing granted in a closed programme (witness)",
        f"""
        SELECT programme_id || ': line ' || line_id || ' granted while the programme was ' || programme_status
          FROM {WITNESS_TABLE}
         WHERE programme_status <> 'active' AND (%(d)s::text IS NULL OR distributor_id = %(d)s)""",
    ),
    (
        "nothing granted once the partnership ended (witness)",
        f"""
        SELECT programme_id || ': line ' || line_id || ' granted while the partnership was '
               || coalesce(partnership_status, 'missing')
          FROM {WITNESS_TABLE}
         WHERE partnership_status IS DISTINCT FROM 'active' AND (%(d)s::text IS NULL OR distributor_id = %(d)s)""",
    ),
    (
        "standing line granted to the programme's ends_on (witness)",
        f"""
        SELECT programme_id || ': line ' || line_id || ' granted until ' || valid_until
               || ' while the programme ended on ' || programme_ends_on
          FROM {WITNESS_TABLE}
         WHERE programme_kind = 'standing' AND valid_until <> programme_ends_on
           AND (%(d)s::text IS NULL OR distributor_id = %(d)s)""",
    ),
]


def violations(url: str, *, now: datetime, distributor_id: str | None = None) -> list[str]:
    """Every broken rule, as ``"<rule>: <what>"`` lines (all distributors when none is given)."""
    params = {"d": distributor_id, "now": now}
    found: list[str] = []
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        rules = list(RULES)
        if conn.execute("SELECT to_regclass(%s)", (WITNESS_TABLE,)).fetchone()[0] is not None:
            rules += WITNESS_RULES
        for name, sql in rules:
            found += [f"{name}: {row[0]}" for row in conn.execute(sql, params)]
    return found
