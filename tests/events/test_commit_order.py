"""A feed follower never misses an event that a slower transaction commits late (PostgreSQL:
ids are taken in one order and committed in another; SQLite has one writer at a time)."""

from __future__ import annotations

from sqlalchemy import select, text

from creditlines.events import feed, outbox
from creditlines.events.models import Event
from creditlines.events.types import EventType
from tests.factories import make_reseller, make_world


def follow(uow, after):
    with uow.read() as s:
        events = feed.read(s, feed.Scope(distributor_id="actebis"), after=after, limit=100)
        return [e.data for e in events], (feed.position(events[-1]) if events else after)


def test_an_event_committed_late_is_not_skipped(pg_only_engine):
    from creditlines.db.engine import UnitOfWork

    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    make_reseller(uow, "R-1")
    _, cursor = follow(uow, None)
    slow = uow._factory()
    try:
        # The slow transaction takes its id first (an event row, id N) ...
        outbox.record(
            slow, EventType.RESELLER_HOLD_PLACED, distributor_id="actebis", reseller_id="R-1", data={"reason": "slow"}
        )
        slow.flush()
        # ... a fast one takes id N+1 and commits.
        with uow.write() as fast:
            outbox.record(
                fast,
                EventType.RESELLER_HOLD_LIFTED,
                distributor_id="actebis",
                reseller_id="R-1",
                data={"reason": "fast"},
            )
        with uow.read() as s:
            ids = s.scalars(select(Event.id).where(Event.type.like("reseller.hold%")).order_by(Event.id)).all()
        assert len(ids) == 1  # the slow one is not visible yet; the fast one is
        # A reader by id would now move past N+1 and never see N. The feed holds back instead.
        seen, cursor = follow(uow, cursor)
        assert seen == []
        slow.commit()
    finally:
        slow.close()
    seen, cursor = follow(uow, cursor)
    assert seen == ['{"reason":"slow"}', '{"reason":"fast"}']
    assert follow(uow, cursor)[0] == []
    uow.read_engine.dispose()


def test_events_are_append_only(engine, owner_engine):
    import pytest
    from sqlalchemy.exc import DBAPIError

    from creditlines.db.engine import UnitOfWork

    uow = UnitOfWork(engine)
    make_world(uow)
    make_reseller(uow, "R-1")
    if uow.read_engine is not None:
        uow.read_engine.dispose()
    for statement in ("UPDATE event SET data = '{}'", "DELETE FROM event"):
        for target in {engine, owner_engine}:
            with pytest.raises(DBAPIError):
                with target.begin() as conn:
                    conn.execute(text(statement))


def test_the_app_role_appends_events_and_attempts_and_updates_only_delivery_state(pg_only_engine, pg_url):
    import psycopg
    import pytest
    from psycopg import errors

    from creditlines.db.engine import UnitOfWork
    from creditlines.db.roles import libpq_url

    uow = UnitOfWork(pg_only_engine)
    make_world(uow)
    assert uow.read_engine is not None
    uow.read_engine.dispose()
    with psycopg.connect(libpq_url(pg_url)) as conn:
        conn.execute(
            "insert into event (distributor_id, type, occurred_at, data) "
            "values ('actebis', 'reseller.created', now(), '{}')"
        )
        conn.execute("update webhook set attempts = attempts + 1")  # the sender's state: allowed
    for statement in (
        "update event set data = '{}'",
        "delete from event",
        "truncate event",
        "update webhook_attempt set outcome = 'delivered'",
        "delete from webhook_attempt",
        "truncate webhook_attempt",
    ):
        with pytest.raises(errors.InsufficientPrivilege), psycopg.connect(libpq_url(pg_url)) as conn:
            conn.execute(statement)
