"""A small browser for the production walk: it speaks plain HTTP to gunicorn on loopback but behaves as a browser
behind our TLS proxy would: every request carries the public Host, `X-Forwarded-Proto: https` and the address the
proxy saw; forms are read from the page and posted back with their CSRF token and the page as Referer.

Not `requests`: its cookie jar (rightly) withholds `Secure` cookies from an http:// URL, and production sets
every cookie Secure. Here the hop to gunicorn is the proxy's, so the cookies must travel.
"""

import http.client
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _Forms(HTMLParser):
    """Every <form>: its method, action and the values its inputs would submit (buttons left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"method": a.get("method", "get").lower(), "action": a.get("action", ""),
                               "fields": {}, "id": a.get("id", ""), "class": a.get("class", "")})
        elif self.forms and tag in ("input", "select", "textarea") and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["fields"][a["name"]] = a.get("value", "on" if kind == "checkbox" else "")


def forms_of(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@dataclass
class Browser:
    """One browser profile: its own cookies. `origin` is the public https origin (SITE_URL)."""

    server: tuple[str, int]
    origin: str
    client_ip: str = "198.51.100.23"
    user_agent: str = "Mozilla/5.0 (prod-check) AppleWebKit/537.36 Chrome/131 Safari/537.36"
    cookies: dict[str, str] = field(default_factory=dict)
    # What our TLS proxy tells the app; None for a server reached directly (`make run`).
    forwarded_proto: str | None = "https"

    def _request(self, method: str, url: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> Response:
        target = urljoin(self.origin + "/", url)
        parts = urlsplit(target)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            raise ValueError(f"refusing to leave the site: {target}")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {"Host": parts.netloc, "X-Forwarded-For": self.client_ip, "User-Agent": self.user_agent,
                "Accept": "text/html,application/json;q=0.9,*/*;q=0.8"}
        if self.forwarded_proto:
            sent["X-Forwarded-Proto"] = self.forwarded_proto
        sent.update(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(*self.server, timeout=30)
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            data = raw.read()
            for header in raw.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, target)
        finally:
            conn.close()

    def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        return self._request("GET", url, headers=headers)

    def head(self, url: str) -> Response:
        return self._request("HEAD", url)

    def post(self, url: str, data: dict[str, str] | bytes, referer: str | None = None,
             headers: dict[str, str] | None = None, content_type: str = "application/x-www-form-urlencoded",
             ) -> Response:
        body = data if isinstance(data, bytes) else urlencode(data).encode()
        sent = {"Content-Type": content_type, "Origin": self.origin,
                "Referer": urljoin(self.origin + "/", referer or url), **(headers or {})}
        return self._request("POST", url, body=body, headers=sent)

    def follow(self, response: Response, limit: int = 5) -> Response:
        """Follow redirects within the site (a redirect elsewhere, e.g. to Stripe, is returned as it is)."""
        for _ in range(limit):
            location = response.headers.get("location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                return response
            target = urljoin(response.url, location)
            if not target.startswith(self.origin + "/"):
                return response
            response = self.get(target)
        return response

    def submit(self, page: Response, *, index: int = 0, match: str = "", form_id: str = "", **values: str) -> Response:
        """Fill and post a form of `page` (the first, or the first whose action contains `match`, or whose id is
        `form_id`)."""
        candidates = [f for f in forms_of(page.text) if f["method"] == "post" and match in f["action"]
                      and (not form_id or f["id"] == form_id)]
        if len(candidates) <= index:
            raise AssertionError(f"no POST form matching {match!r} on {page.url}")
        form = candidates[index]
        action = urljoin(page.url, form["action"] or page.url)
        return self.post(action, {**form["fields"], **values}, referer=page.url)
