"""Who is on the other end of a request: the client IP (for consent records and rate limits) and user agent."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address.

    Without TRUSTED_PROXY_IP_HEADER, REMOTE_ADDR: a header anyone can send is never believed. With it (e.g.
    HTTP_X_FORWARDED_FOR behind one proxy we run), the RIGHT-MOST entry: that is the address our own proxy saw
    and appended; everything to its left was written by the client and can be forged. Behind a chain of
    proxies, make the outermost one overwrite (not append to) the header.
    """
    header = settings.TRUSTED_PROXY_IP_HEADER
    if header:
        hops = [hop for hop in request.META.get(header, "").split(",") if hop.strip()]
        if hops:
            ip = _valid_ip(hops[-1])
            if ip:
                return ip
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def client_user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]
