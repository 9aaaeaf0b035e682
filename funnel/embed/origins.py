"""Which site a cross-site request comes from, and whether SIGNUP_ALLOWED_ORIGINS lets it sign readers up."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def origin_of(url: str) -> str:
    """'https://Blog.example.com:443/post?x' → 'https://blog.example.com'; '' for anything that is not http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_origins() -> set[str]:
    """SIGNUP_ALLOWED_ORIGINS, and our own site: a page of ours calling the API is no cross-site request."""
    return {origin_of(origin) for origin in [*settings.SIGNUP_ALLOWED_ORIGINS, settings.SITE_URL]} - {""}


def request_origin(request: HttpRequest) -> str:
    """The page's origin as the browser reports it: the Origin header (sent with every cross-site POST), else the
    Referer's origin. '' when neither names an http(s) site ("null" from a sandboxed frame or a file:// page)."""
    return origin_of(request.headers.get("Origin", "")) or origin_of(request.headers.get("Referer", ""))


def origin_allowed(origin: str) -> bool:
    return bool(origin) and origin in allowed_origins()


def origin_host(origin: str) -> str:
    """What the dashboard's per-source table shows for a signup from this site: its host name, without the port
    (a source is a UTM value, which has no room for ':'; funnel/landing/utm.py)."""
    return urlsplit(origin).hostname or ""
