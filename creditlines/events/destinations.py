"""Where a webhook may be delivered (SPEC §23): never inward, unless the operator allows it.

Loopback, private (RFC 1918, ULA ``fc00::/7``), link-local, shared (``100.64.0.0/10``),
multicast, reserved and unspecified addresses — anything that is not a global unicast address —
are refused unless inside ``CREDITLINES_WEBHOOK_ALLOW_NETWORKS``. An IPv6 address that embeds an
IPv4 one (mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4) is judged by the IPv4 one too.

The check is made twice: at subscription (:func:`check_subscription`, the literal address or
the name as it resolves then) and at every connection (:class:`PinnedBackend`, used by the
sender's HTTP client): the name is resolved, every address checked, and the connection opened to
an address that was checked — never resolved a second time — so a name that changes its answer
(DNS rebinding) reaches nothing it was not allowed to. The URL, the ``Host`` header and the TLS
server name stay the name's, so certificates are verified as usual.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import ssl
import typing
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from creditlines.config import IPNetwork
from creditlines.errors import WebhookUrlNotAllowed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not "private" to Python 3.11
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SUBSCRIPTION_RESOLVE_SECONDS = 2.0


class RefusedAddress(Exception):
    """The destination resolved to an address outside what deliveries may reach."""


def _inner(ip: IPAddress) -> IPAddress | None:
    """The IPv4 address an IPv6 one carries, if any."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _inward(ip: IPAddress) -> bool:
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in SHARED
        or not ip.is_global
    )


def allowed(ip: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    """Whether a delivery may connect to ``ip``."""
    if any(ip.version == net.version and ip in net for net in allow):
        return True
    inner = _inner(ip)
    if inner is not None:
        return allowed(inner, allow)
    return not _inward(ip)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _check_all(addresses: Iterable[IPAddress], allow: Sequence[IPNetwork]) -> list[IPAddress]:
    found = list(dict.fromkeys(addresses))
    if not found or not all(allowed(ip, allow) for ip in found):
        raise RefusedAddress("destination not allowed")
    return found


def _resolve_blocking(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def check_subscription(url: str, allow: Sequence[IPNetwork]) -> None:
    """Refuse (``422 webhook_url_not_allowed``) a URL whose host is, or now resolves to, an address
    deliveries may not reach. A name that does not resolve (yet) is accepted: every connection
    checks again."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _literal(host)
    try:
        if literal is not None:
            _check_all([literal], allow)
            return
        future = _RESOLVER.submit(_resolve_blocking, host, port)
        try:
            addresses = future.result(timeout=SUBSCRIPTION_RESOLVE_SECONDS)
        except (OSError, UnicodeError, ValueError, concurrent.futures.TimeoutError):
            return  # not resolvable now: checked at each connection
        _check_all(addresses, allow)
    except RefusedAddress:
        raise WebhookUrlNotAllowed(
            "the url's host is a loopback, private, link-local, shared, multicast or reserved address "
            "(or resolves to one); an operator may allow networks with CREDITLINES_WEBHOOK_ALLOW_NETWORKS"
        ) from None


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked address (never re-resolving)."""

    def __init__(self, allow: Sequence[IPNetwork]) -> None:
        self.allow = tuple(allow)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _literal(host)
        if literal is not None:
            addresses = _check_all([literal], self.allow)
        else:
            try:
                with anyio.fail_after(timeout):
                    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except TimeoutError:
                raise httpcore.ConnectTimeout("name resolution timed out") from None
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError("name resolution failed") from exc
            addresses = _check_all(
                (ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos), self.allow
            )
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:  # the next address (a timeout ends the attempt)
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("unix sockets are not webhook destinations")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on :class:`PinnedBackend`; no proxy from the
    environment (a proxy would connect on our behalf, unchecked)."""

    def __init__(self, allow: Sequence[IPNetwork], *, max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=PinnedBackend(allow),
        )


def client(allow: Sequence[IPNetwork], *, timeout: float, max_connections: int) -> httpx.AsyncClient:
    """The sender's HTTP client: pinned, checked connections; no redirects, no environment proxy."""
    return httpx.AsyncClient(
        transport=PinnedTransport(allow, max_connections=max_connections),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def outcome(exc: BaseException) -> str:
    """A failed POST as a coarse outcome (SPEC §23), never the exception's text."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RefusedAddress):
            return "refused_address"
        if isinstance(current, ssl.SSLError):
            return "tls_error"
        current = current.__cause__ or current.__context__
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    return "connection_failed"
