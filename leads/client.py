"""Who is on the other end of a request: the client IP (for consent records and rate limits) and user agent."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _from_trusted_proxy(remote: str | None) -> bool:
    """Did this request come from our own reverse proxy? Only then is its forwarding header believed.

    Behind a proxy, a client can still reach the app directly (a published port, a neighbour on the network);
    its X-Forwarded-For is whatever it typed, so a header from any other peer is ignored.
    """
    if remote is None:
        return False
    address = ipaddress.ip_address(remote)
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXY_IPS)))


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address.

    Without TRUSTED_PROXY_IP_HEADER, REMOTE_ADDR: a header anyone can send is never believed. With it (e.g.
    HTTP_X_FORWARDED_FOR behind one proxy we run), and only for requests whose REMOTE_ADDR is one of
    TRUSTED_PROXY_IPS, the RIGHT-MOST entry: that is the address our own proxy saw and appended; everything to
    its left was written by the client and can be forged. Behind a chain of proxies, make the outermost one
    overwrite (not append to) the header.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    header = settings.TRUSTED_PROXY_IP_HEADER
    if header and _from_trusted_proxy(remote):
        hops = [hop for hop in request.META.get(header, "").split(",") if hop.strip()]
        if hops:
            ip = _valid_ip(hops[-1])
            if ip:
                return ip
    return remote


def client_user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]
