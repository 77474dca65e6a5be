"""Database URLs: the multi-host form, and the connection defaults that keep a request from
hanging on a database machine that went away (SPEC §22).

The service takes libpq's multi-host URL, as the HA orchestrator's documentation writes it::

    postgresql+psycopg://app@h1:5432,h2:5433/creditlines?target_session_attrs=read-write

SQLAlchemy does not parse a comma in the host part; it reads the same hosts as repeated ``host``
query parameters (``…@/creditlines?host=h1:5432&host=h2:5433``). :func:`normalize` turns the
first form into the second (any other URL is returned unchanged); :func:`libpq` turns either
into the URL libpq itself reads (the hot pool, the role tools). libpq tries the hosts in order
and, with ``target_session_attrs=read-write``, keeps the one that accepts writes: after a
failover a new connection finds the new primary by itself.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode

from sqlalchemy.engine import URL, make_url

# libpq connection parameters the service sets unless the URL sets them: a connection attempt
# gives up after CONNECT_TIMEOUT_S per host, and a connection whose machine vanished without a
# word (no RST) is declared dead within seconds instead of the kernel's two hours.
DEFAULTS = {
    "connect_timeout": "3",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
CONNECT_TIMEOUT_S = int(DEFAULTS["connect_timeout"])

_MULTI_HOST = re.compile(r"^(?P<scheme>[^:/?#]+)://(?P<auth>[^@/?#]*@)?(?P<hosts>[^/?#]*,[^/?#]*)(?P<rest>[/?#].*)?$")


def normalize(url: str) -> str:
    """``url`` with a comma-separated host list moved to ``host`` query parameters (SQLAlchemy's
    form); any other URL unchanged."""
    match = _MULTI_HOST.match(url)
    if match is None:
        return url
    rest = match["rest"] or "/"
    path, _, query = rest.partition("?")
    hosts = [("host", host) for host in match["hosts"].split(",") if host]
    params = hosts + parse_qsl(query, keep_blank_values=True)
    return f"{match['scheme']}://{match['auth'] or ''}{path}?{urlencode(params)}"


def is_postgresql(url: str) -> bool:
    return make_url(normalize(url)).get_backend_name() == "postgresql"


def with_defaults(url: URL) -> URL:
    """A PostgreSQL URL with the connection defaults it does not set itself."""
    missing = {key: value for key, value in DEFAULTS.items() if key not in url.query}
    return url.update_query_dict(missing) if missing else url


def libpq(url: str, *, defaults: bool = True) -> str:
    """The URL libpq reads (``postgresql://user:password@h1:5432,h2:5433/db?…``)."""
    parsed = make_url(normalize(url))
    if defaults:
        parsed = with_defaults(parsed)
    hosts = parsed.query.get("host")
    if hosts is None:
        return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    host_list = [hosts] if isinstance(hosts, str) else list(hosts)
    auth = ""
    if parsed.username:
        auth = quote(parsed.username, safe="")
        if parsed.password is not None:
            auth += ":" + quote(str(parsed.password), safe="")
        auth += "@"
    params = []
    for key, value in parsed.query.items():
        if key == "host":
            continue
        params += [(key, v) for v in ([value] if isinstance(value, str) else value)]
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{auth}{','.join(host_list)}/{quote(parsed.database or '', safe='')}{query}"
