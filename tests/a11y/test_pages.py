"""Every page a reader, a buyer or staff (the dashboard, the email copy editor) can reach, in real Chromium: axe-core
finds nothing at WCAG 2.1 AA, nothing scrolls sideways at 320 px or at 200 % zoom, and the Content-Security-Policy
blocks nothing the page needs."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import reverse

from leads import tokens
from leads.models import Lead
from tests.a11y.conftest import LONG_ADDRESS
from tests.a11y.helpers import REFLOW_WIDTH, ZOOM_200_WIDTH, axe_violations, overflow
from tests.editor.conftest import STEP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_up(page: Any, base: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Email address").fill(LONG_ADDRESS)
    page.get_by_label("Yes, email me the free").check()
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_url(base + "/thanks/")
    page.get_by_text("Wrong address? Correct it here").click()  # the correction form is checked too


def _errors(page: Any, base: str) -> None:
    page.goto(base + "/")
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_load_state()


def _order_dialog(page: Any, base: str) -> None:
    """The guided session (JavaScript on) with the "Order matters" explanation open."""
    page.goto(base + "/app/session/?area=low-back")
    page.locator("#pain-pain_before").get_by_role("radio", name="5", exact=True).check()
    page.locator(".stepper").get_by_role("button", name="3 Stretch").click()
    page.get_by_role("alertdialog", name="Order matters").wait_for()


def _tagging_link(page: Any, base: str) -> None:
    """The page behind a tagging link in an email (`[Yes](link:free_guide tag:interested)`): one button."""
    lead = Lead.objects.create(email="tagged@example.com", status=Lead.Status.SUBSCRIBED)
    token = tokens.sign("click", {"lead": lead.pk, "row": None, "t": "free_guide", "tag": "interested"})
    page.goto(f"{base}/c/{token}/")


READER_LINKS = {"preferences": "/preferences/{token}/", "unsubscribe": "/u/{token}/"}

# (id, who is signed in, a path, a READER_LINKS key, or what to do to get there)
PAGES: list[tuple[str, str, str | Callable[[Any, str], None]]] = [
    ("landing", "", "/?utm_source=a11y"),
    ("signup-errors", "", _errors),
    ("thanks", "", _sign_up),
    ("free-guide", "", "/guide/free/?welcome=1"),
    ("sign-in", "", reverse("signin")),
    ("buy", "", reverse("buy")),
    ("guide-preview", "", reverse("full-guide")),
    ("app-preview", "", reverse("app")),
    ("preferences", "reader", "preferences"),
    ("unsubscribe", "reader", "unsubscribe"),
    ("tag-link", "", _tagging_link),
    ("guide", "buyer", reverse("full-guide")),
    ("guide-protocol", "buyer", reverse("guide-protocol")),
    ("guide-tools", "buyer", reverse("guide-tools")),
    ("guide-areas", "buyer", reverse("guide-areas")),
    ("guide-area", "buyer", reverse("guide-area", args=["low-back"])),
    ("guide-mistakes", "buyer", reverse("guide-mistakes")),
    ("guide-plan-7", "buyer", reverse("guide-plan-7")),
    ("guide-plan-30", "buyer", reverse("guide-plan-30")),
    ("app-home", "buyer", reverse("app")),
    ("app-pick", "buyer", reverse("app-session")),
    ("session-checklist", "buyer", reverse("app-session") + "?area=low-back"),
    ("session-order-dialog", "buyer", _order_dialog),
    ("dashboard", "staff", "/admin/dashboard/"),
    ("copy-list", "editor", reverse("admin:emails_emailcopy_changelist")),
    ("copy-editor", "editor", reverse("admin:emails_copy_edit", args=[STEP])),
    ("copy-history", "editor", reverse("admin:emails_copy_history", args=[STEP])),
    ("copy-diff", "editor", reverse("admin:emails_copy_diff", args=[STEP])),

    ("sender-check", "staff", "/admin/sender-check/"),
    ("signup-snippet", "staff", "/admin/signup-form/"),
]
COOKIES = {"buyer": "buyer_cookie", "staff": "staff_cookie", "editor": "editor_cookie"}


@pytest.fixture
def open_page(request: pytest.FixtureRequest, browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Open one of PAGES as its reader; returns the page and the console's CSP complaints."""
    contexts: list[Any] = []

    def opener(who: str, target: str | Callable[[Any, str], None], *, javascript: bool = True) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
        contexts.append(context)
        if who in COOKIES:
            context.add_cookies([request.getfixturevalue(COOKIES[who])])
        page = context.new_page()
        page.csp_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_errors.append(msg.text))
        if callable(target):
            target(page, live_server.url)
            return page
        if who == "reader":  # the links in the reader's emails, signed for them
            reader = request.getfixturevalue("reader")
            target = READER_LINKS[target].format(token=tokens.sign(target, {"lead": reader.pk}))
        response = page.goto(live_server.url + target)
        assert response is not None and response.status == 200, f"{target}: {response and response.status}"
        return page

    yield opener
    for context in contexts:
        context.close()


# The copy editor's pages need PostgreSQL, as every test of the editor does (tests/editor).
@pytest.mark.parametrize(("who", "target"), [
    pytest.param(who, target, id=name, marks=[pytest.mark.postgres] if who == "editor" else [])
    for name, who, target in PAGES])
def test_page_passes_axe_and_reflows(open_page: Callable[..., Any], who: str, target: Any) -> None:
    page = open_page(who, target)
    assert axe_violations(page) == []
    for width in (REFLOW_WIDTH, ZOOM_200_WIDTH):
        page.set_viewport_size({"width": width, "height": 800})
        assert overflow(page) == [], f"scrolls sideways at {width} px"
    assert page.csp_errors == []
