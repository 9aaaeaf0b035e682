"""Real Chromium, JavaScript off: the snippet pasted into a page of another site (a second local HTTP server, so
another origin) signs a reader up and lands them on our thank-you page; from a site not allowed, nothing is kept."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from funnel.embed.snippet import snippet_html
from leads.models import Lead
from tests.conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class _Blog:
    """Another site: one page with our snippet pasted into its article."""

    def __init__(self, snippet: str) -> None:
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>A blog</title></head><body>"
                f"<h1>Posture at the desk</h1><p>An article.</p>{snippet}</body></html>").encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def blogs(live_server: Any, settings: Any) -> Iterator[tuple[_Blog, _Blog]]:
    settings.SITE_URL = live_server.url  # the snippet's form posts to the live server
    settings.SIGNUP_RATE_LIMIT = "100000/h"  # every browser signup comes from 127.0.0.1
    allowed, refused = _Blog(snippet_html()), _Blog(snippet_html())
    settings.SIGNUP_ALLOWED_ORIGINS = [allowed.url]
    try:
        yield allowed, refused
    finally:
        allowed.close()
        refused.close()


def _fill_and_send(browser: Any, url: str, email: str) -> Any:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(url)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("First name (optional)").fill("Zoë")
    page.get_by_label("Yes, email me the free").check()
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_load_state()
    return context, page


def test_the_snippet_on_another_site_signs_up_without_javascript(browser: Any, live_server: Any,
                                                                 blogs: tuple[_Blog, _Blog], settings: Any) -> None:
    allowed, _ = blogs
    context, page = _fill_and_send(browser, allowed.url, "blog-reader@example.com")
    assert page.url == f"{live_server.url}/thanks/"
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you — check your inbox"
    assert "blog-reader@example.com" in page.content()
    context.close()
    lead = Lead.objects.get(email="blog-reader@example.com")
    assert (lead.first_name, lead.utm_source, lead.utm_medium, lead.status) == (
        "Zoë", "127.0.0.1", "embed", Lead.Status.PENDING)
    assert lead.time_zone == settings.DRIP_DEFAULT_TIME_ZONE  # the script that reads the zone did not run


def test_with_javascript_the_snippet_sends_the_readers_time_zone(browser: Any, live_server: Any,
                                                                blogs: tuple[_Blog, _Blog]) -> None:
    allowed, _ = blogs
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(allowed.url)
    page.get_by_label("Email address").fill("tokyo-blog@example.com")
    page.get_by_label("Yes, email me the free").check()
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_url(f"{live_server.url}/thanks/")
    context.close()
    assert Lead.objects.get(email="tokyo-blog@example.com").time_zone == "Asia/Tokyo"


def test_the_snippet_on_a_site_not_allowed_stores_nothing(browser: Any, live_server: Any,
                                                         blogs: tuple[_Blog, _Blog]) -> None:
    _, refused = blogs
    context, page = _fill_and_send(browser, refused.url, "elsewhere@example.com")
    assert page.url == f"{live_server.url}/embed/signup/"
    assert page.get_by_role("heading", level=1).inner_text() == "This form cannot sign you up from that site"
    context.close()
    assert not Lead.objects.exists()


def test_staff_copy_the_snippet_with_one_button(browser: Any, live_server: Any, admin_user: Any) -> None:
    from django.test import Client

    staff = Client()
    staff.force_login(admin_user)
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.add_cookies([{"name": "sessionid", "value": staff.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Signup form for other sites").click()
    page.get_by_role("button", name="Copy the HTML").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == snippet_html()
    context.close()
