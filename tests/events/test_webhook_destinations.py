"""Webhooks cannot be aimed inward (SPEC §23): loopback, private, link-local, shared, multicast and
reserved destinations are refused at subscription and again at each connection (the name
resolved then, the connection made to the address checked), unless the operator allows their
network; the deliveries log shows a coarse outcome, never an exception's text.

No test here sends a packet anywhere but loopback: refused addresses are refused before any
connection, and the public address below is only subscribed, never delivered to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpcore
import pytest

from creditlines.config import Settings, parse_networks
from creditlines.events import destinations
from creditlines.events.sender import Sender
from tests.events.receiver import Receiver
from tests.events.test_webhooks import SETTINGS, order, poll

INWARD = [
    "http://127.0.0.1:5432/",  # the service's own database
    "http://localhost:5432/",  # a name: resolved now, to loopback
    "http://2130706433/",  # 127.0.0.1 written as one number, resolved by the system
    "http://[::1]:8000/",
    "http://10.0.0.5/hooks",
    "http://172.16.4.2/",
    "https://192.168.1.10/",
    "http://100.64.0.1/",  # shared (carrier-grade NAT)
    "http://169.254.169.254/latest/meta-data/",  # link-local: a cloud's metadata service
    "http://[fe80::1]/",
    "http://[fd12:3456::1]/",  # unique local (fc00::/7)
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://0.0.0.0:8000/",
    "http://[::]/",
    "http://240.0.0.1/",  # reserved
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "http://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def no_allow_list(monkeypatch):
    monkeypatch.delenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", raising=False)


@pytest.fixture
def r1(no_allow_list, api):
    api.put("/v1/distributors/actebis/resellers/R-1", json={"name": "R-1"})
    limit = {"limit": {"amount": "1000.00", "currency": "EUR"}, "reason": "cover"}
    assert api.put("/v1/distributors/actebis/resellers/R-1/base-limit", json=limit).status_code == 200
    return api


def test_an_officer_cannot_aim_a_webhook_at_the_services_own_network(r1):
    """The issue's inward aim: the database port on loopback, private ranges, the metadata
    service — every one refused with 422 webhook_url_not_allowed, whoever asks."""
    api = r1
    for url in INWARD:
        for who, scope in (("officer", {}), ("partner", {}), ("admin", {"distributor_id": "actebis"})):
            types = ["line.granted"]
            answer = api.post("/v1/webhooks", who=who, json={"url": url, "types": types, **scope})
            assert answer.status_code == 422, (url, who, answer.text)
            assert answer.json()["code"] == "webhook_url_not_allowed"
            assert "5432" not in answer.json()["detail"]
    assert api.get("/v1/webhooks", who="admin").json() == []


def test_public_destinations_and_names_not_resolvable_yet_are_accepted(r1):
    api = r1
    for url in ("https://93.184.215.14/hooks", "https://erp.acme.example/creditlines"):
        answer = api.post("/v1/webhooks", json={"url": url, "types": ["line.granted"]})
        assert answer.status_code == 201, answer.text  # the latter is checked at each connection


def test_the_operator_allows_a_network_and_only_that_one(r1, monkeypatch):
    from creditlines.config import get_settings

    api = r1
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8, 10.20.0.0/16")
    get_settings.cache_clear()
    for url in ("http://127.0.0.1:9/", "http://localhost:9/", "http://10.20.3.4/"):
        assert api.post("/v1/webhooks", json={"url": url, "types": ["line.granted"]}).status_code == 201, url
    for url in ("http://10.21.0.1/", "http://[::1]/", "http://192.168.0.1/"):
        answer = api.post("/v1/webhooks", json={"url": url, "types": ["line.granted"]})
        assert answer.json()["code"] == "webhook_url_not_allowed", url


def test_every_connection_is_checked_again_a_name_included(r1, receiver, monkeypatch):
    """Subscribed while loopback was allowed, under a name (`localhost`); the operator then
    removes the allowance. The sender resolves the name at the connection, refuses it, logs
    `refused_address` and the receiver gets nothing."""
    from creditlines.config import get_settings

    api = r1
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8,::1/128")
    get_settings.cache_clear()
    url = receiver.url.replace("127.0.0.1", "localhost")
    hook = api.post("/v1/webhooks", json={"url": url, "types": ["drawing.created"]}).json()
    order(api, "FA-1", "10.00")
    assert poll(Sender(api.uow, SETTINGS.model_copy(update={"webhook_allow_networks": ""}))) == 0
    assert receiver.requests == []
    [attempt] = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert (attempt["outcome"], attempt["result"], attempt["error"], attempt["status_code"]) == (
        "failed",
        "refused_address",
        "refused_address",
        None,
    )
    # Allowed again (as the subscription was): the same event goes out at its retry.
    from tests.events.test_webhooks import later

    later(30)
    assert poll(Sender(api.uow, SETTINGS)) == 1
    assert [r.document["data"]["reference"] for r in receiver.requests] == ["FA-1"]


def test_the_deliveries_log_says_what_failed_never_how(r1, receiver, monkeypatch):
    """A closed port, a TLS handshake with a plain-HTTP server, a timeout, an HTTP error: the log
    holds `connection_failed`, `tls_error`, `timeout`, `http_500` — no errno, no address, no text."""
    from creditlines.config import get_settings
    from tests.events.test_webhooks import later

    api = r1
    monkeypatch.setenv("CREDITLINES_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more
    urls = {
        "connection_failed": f"http://127.0.0.1:{port}/hooks",
        "tls_error": receiver.url.replace("http://", "https://"),
    }
    hooks = {}
    for result, url in urls.items():
        hooks[result] = api.post("/v1/webhooks", json={"url": url, "types": ["drawing.created"]}).json()["id"]
    plain = Receiver(script=[500, "slow"], slow_seconds=2).start()
    try:
        hooks["http"] = api.post("/v1/webhooks", json={"url": plain.url, "types": ["drawing.created"]}).json()["id"]
        order(api, "FA-1", "10.00")
        sender = Sender(api.uow, SETTINGS)
        poll(sender)
        later(30)
        poll(sender)
    finally:
        plain.stop()
    log = {name: api.get(f"/v1/webhooks/{hook}/deliveries").json()["items"] for name, hook in hooks.items()}
    assert [d["result"] for d in log["connection_failed"]] == ["connection_failed"] * 2
    assert [d["result"] for d in log["tls_error"]] == ["tls_error"] * 2
    assert [d["result"] for d in log["http"]][::-1] == ["http_500", "timeout"]
    for items in log.values():
        for d in items:
            assert d["error"] == d["result"] and str(port) not in str(d) and "Errno" not in str(d)


@pytest.mark.parametrize(
    "address, allowed",
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.255.255.53", False),
        ("172.31.0.1", False),
        ("192.168.0.1", False),
        ("100.127.255.254", False),
        ("169.254.0.1", False),
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("239.1.2.3", False),
        ("192.0.2.1", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff0e::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ],
)
def test_which_addresses_deliveries_may_reach(address, allowed):
    assert destinations.allowed(ipaddress.ip_address(address), ()) is allowed


def test_the_allow_list_is_comma_separated_cidrs_and_a_bad_one_stops_the_service():
    assert parse_networks(" 127.0.0.0/8 ,10.1.0.0/16,,fd00::/8") == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert Settings(webhook_allow_networks="").allow_networks == ()
    with pytest.raises(ValueError, match="not a CIDR"):
        Settings(webhook_allow_networks="127.0.0.0/8,intranet")


def test_the_pinned_connection_goes_to_the_address_it_checked(receiver):
    """The sender's network backend resolves the name once, checks every address, and connects to
    one of those: refused without the allowance, connected (to 127.0.0.1) with it."""
    port = int(receiver.url.split(":")[2].split("/")[0])

    async def connect(allow: str) -> str:
        backend = destinations.PinnedBackend(parse_networks(allow))
        stream = await backend.connect_tcp("localhost", port, timeout=5)
        peer = stream.get_extra_info("server_addr")
        await stream.aclose()
        return str(peer[0])

    with pytest.raises(destinations.RefusedAddress):
        asyncio.run(connect(""))
    assert asyncio.run(connect("127.0.0.0/8,::1/128")) in ("127.0.0.1", "::1")
    with pytest.raises(httpcore.ConnectError):  # a name that does not resolve: a connection failure
        asyncio.run(destinations.PinnedBackend(()).connect_tcp("erp.acme.example", 443, timeout=5))
