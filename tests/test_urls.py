"""The multi-host URL of a primary and its standby (SPEC §22), as SQLAlchemy and libpq read it."""

from sqlalchemy.engine import make_url

from creditlines.db.urls import libpq, normalize

HA = "postgresql+psycopg://app:s%40cret@db1:5432,db2:5433/creditlines?target_session_attrs=read-write"


def test_the_multi_host_url_becomes_host_parameters_for_sqlalchemy():
    url = make_url(normalize(HA))
    assert url.query["host"] == ("db1:5432", "db2:5433")
    assert url.query["target_session_attrs"] == "read-write"
    assert (url.username, url.password, url.database) == ("app", "s@cret", "creditlines")
    assert normalize(normalize(HA)) == normalize(HA)  # idempotent


def test_libpq_gets_the_hosts_back_with_the_connection_timeouts():
    assert libpq(HA, defaults=False) == (
        "postgresql://app:s%40cret@db1:5432,db2:5433/creditlines?target_session_attrs=read-write"
    )
    assert libpq(normalize(HA), defaults=False) == libpq(HA, defaults=False)
    with_timeouts = libpq(HA)
    assert "connect_timeout=3" in with_timeouts and "keepalives_idle=5" in with_timeouts


def test_a_url_with_one_host_or_sqlite_is_unchanged():
    one = "postgresql+psycopg://app@db1:5432/creditlines"
    assert normalize(one) == one
    assert libpq(one, defaults=False) == "postgresql://app@db1:5432/creditlines"
    assert libpq("postgresql+psycopg://app@db1/creditlines?connect_timeout=9").count("connect_timeout=9") == 1
    assert normalize("sqlite:///var/creditlines.db") == "sqlite:///var/creditlines.db"
