"""One POST to a staff-given URL, without letting that URL reach inside our network (SSRF).

A URL's host is resolved once, every address it resolves to is checked (no loopback, private, link-local or other
non-public address), and the connection goes to the checked address with the Host header and TLS's SNI and
certificate check still naming the host: a DNS answer that changes between the check and the connection (DNS
rebinding) cannot move the request. Redirects are never followed (a 3xx is a failed attempt), so no hop goes
unchecked. WEBHOOKS_ALLOW_PRIVATE lifts the address check (development and the tests' local receivers).
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

EXCERPT_BYTES = 500
USER_AGENT = "PainReset-Webhooks/1.0"


class AddressRefused(Exception):
    """The URL is not one we may call (scheme, or an address that is not public)."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (refused, unreachable, timed out)
    excerpt: str
    error: str
    duration_ms: int
    location: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class _Destination:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP we connect to
    host_header: str
    target: str  # path and query


def address_problem(address: str) -> str:
    """Why we may not connect to this IP ("" when it is a public address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id names a local interface
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:  # 0.0.0.0 and :: reach this very host
        return "this host's unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return ""


def destination_resolve(url: str) -> _Destination:
    """Where a POST to `url` goes: resolved once and checked. AddressRefused when it may not go there."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(f"only http and https URLs can receive webhooks, not {url[:100]!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # a port that is not a number, or out of range
        raise AddressRefused(f"not a valid URL: {exc}") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AddressRefused(f"{parts.hostname} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            # Any non-public answer refuses the host: which address a client picks is not ours to predict.
            if problem := address_problem(address):
                raise AddressRefused(f"{parts.hostname} resolves to {address}, {problem}")
    host_header = parts.netloc.rpartition("@")[2]  # never send userinfo on as part of Host
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Destination(parts.scheme, parts.hostname, port, addresses[0], host_header, target)


def _pool(destination: _Destination, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if destination.scheme == "https":
        # Connected to the IP, but TLS still names the host: SNI and the certificate check use server_hostname.
        return urllib3.HTTPSConnectionPool(
            destination.address, destination.port, timeout=timeout, retries=False, cert_reqs="CERT_REQUIRED",
            ca_certs=settings.WEBHOOKS_CA_BUNDLE or certifi.where(), server_hostname=destination.host,
            assert_hostname=destination.host)
    return urllib3.HTTPConnectionPool(destination.address, destination.port, timeout=timeout, retries=False)


def webhook_post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` once. Never raises for the receiver's faults: they are in the Answer."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)
    try:
        destination = destination_resolve(url)
    except AddressRefused as exc:
        return Answer(None, "", f"refused: {exc}", took())
    timeout = urllib3.Timeout(connect=min(5.0, settings.WEBHOOKS_TIMEOUT_SECONDS),
                              read=settings.WEBHOOKS_TIMEOUT_SECONDS)
    pool = _pool(destination, timeout)
    try:
        response = pool.urlopen(
            "POST", destination.target, body=body,
            headers={**headers, "Host": destination.host_header, "User-Agent": USER_AGENT,
                     "Content-Type": "application/json"},
            redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=True).decode("utf-8", "replace")
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:500], took())
    finally:
        pool.close()
    location = response.headers.get("Location", "")
    error = f"redirect to {location[:200]} not followed" if 300 <= response.status < 400 else ""
    return Answer(response.status, excerpt, error, took(), location)
