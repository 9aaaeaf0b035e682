"""What browsers, crawlers and social sites read around the content: the Content-Security-Policy, the favicon, and
the landing page's canonical link and Open Graph tags."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/", "/thanks/", "/guide/free/", "/signin/", "/buy/", "/guide/", "/app/"]


@pytest.mark.parametrize("path", PAGES)
def test_scripts_only_from_our_own_files(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'self'"
    html = response.content.decode()
    # Nothing the policy would block: no inline <script> and no on…= handler attributes.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<[^>]+\son[a-z]+=", html)


def test_every_template_is_free_of_inline_script() -> None:
    for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        source = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template
        assert not re.search(r"<[^>]+\son(click|load|change|submit|input)=", source), template


def test_favicon_is_served_at_the_site_root(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.ico"
    icon = finders.find("favicon.ico")
    assert isinstance(icon, str) and Path(icon).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.ico"' in html


def test_landing_has_a_canonical_link_and_open_graph_tags(client: Client, settings: object) -> None:
    html = client.get("/?utm_source=facebook&utm_campaign=spring&fbclid=abc").content.decode()
    site = settings.SITE_URL  # type: ignore[attr-defined]
    # Every shared variant of the URL names the one page.
    assert f'<link rel="canonical" href="{site}/">' in html
    meta = dict(re.findall(r'<meta property="og:([a-z:_]+)" content="([^"]*)">', html))
    assert meta["url"] == f"{site}/" and meta["type"] == "website"
    assert meta["title"].startswith("The pain comes back") and "25–30 minutes a day" in meta["description"]
    assert meta["image"] == f"{site}/static/img/og.png" and finders.find("img/og.png")
    assert '<meta name="twitter:card" content="summary_large_image">' in html
