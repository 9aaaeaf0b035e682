"""The copy editor in real Chromium: a marketer edits the day-3 subject, watches the preview follow, publishes,
opens the diff and rolls back; the page passes axe and the Content-Security-Policy blocks nothing it needs."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from emails.content.models import EmailCopy
from tests.a11y.helpers import axe_violations
from tests.editor.conftest import STEP, client_for

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
NEW_SUBJECT = "Day 3: the hips, gently"


@pytest.fixture
def editor_page(browser: Any, live_server: Any, day3: EmailCopy, editor: User) -> Iterator[Any]:
    def open_as(*, javascript: bool = True) -> Any:
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, java_script_enabled=javascript)
        contexts.append(context)
        client = client_for(editor)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
        page = context.new_page()
        page.csp_errors = []
        page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_errors.append(msg.text))
        return page

    contexts: list[Any] = []
    yield open_as
    for context in contexts:
        context.close()


def test_edit_preview_publish_diff_rollback(editor_page: Any, live_server: Any, day3: EmailCopy) -> None:
    page = editor_page()
    page.goto(live_server.url + "/admin/")
    page.get_by_role("link", name="Email copy", exact=True).click()
    page.get_by_role("link", name=STEP, exact=True).click()
    page.get_by_role("heading", name="Preview", exact=True).wait_for()
    assert axe_violations(page) == []

    # Typing updates the preview without a page load.
    page.get_by_label("Subject").fill(NEW_SUBJECT)
    page.locator("#preview-subject").filter(has_text=NEW_SUBJECT).wait_for()
    frame = page.locator("iframe.preview-html").first
    assert NEW_SUBJECT in (frame.get_attribute("srcdoc") or "")
    assert day3.subject not in (page.locator("#preview-subject").text_content() or "")
    # A merge field that does not exist is named next to the body as it is typed.
    body = page.get_by_label("Body")
    original_body = body.input_value()
    body.fill(original_body + "\nSee you, {{ frist_name }}\n")
    page.locator("#problems-body").filter(has_text="frist_name").wait_for()
    body.fill(original_body)
    page.locator("#problems-body").wait_for(state="hidden")

    page.get_by_role("button", name="Publish").click()
    page.get_by_text(re.compile(r"Published version \d+ of day-3")).wait_for()
    newest = EmailCopy.objects.filter(step=STEP).order_by("-version").first()
    assert newest and newest.subject == NEW_SUBJECT and newest.version == day3.version + 1

    page.get_by_role("link", name="History and rollback").click()
    page.get_by_role("button", name="Compare the two versions").click()
    page.locator("#copy-diff del").filter(has_text=day3.subject).wait_for()
    assert NEW_SUBJECT in (page.locator("#copy-diff ins").first.text_content() or "")
    assert axe_violations(page) == []

    page.get_by_role("link", name="History").click()
    page.get_by_role("button", name=f"Roll back to version {day3.version}").click()
    page.get_by_text(re.compile(rf"Rolled back: version {day3.version + 2} is a copy of version {day3.version}")) \
        .wait_for()
    newest = EmailCopy.objects.filter(step=STEP).order_by("-version").first()
    assert newest and newest.subject == day3.subject and newest.origin == "rollback"
    assert page.csp_errors == []


def test_the_preview_button_works_without_javascript(editor_page: Any, live_server: Any) -> None:
    page = editor_page(javascript=False)
    page.goto(f"{live_server.url}/admin/emails/emailcopy/editor/{STEP}/")
    page.get_by_label("Subject").fill(NEW_SUBJECT)
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview-subject").filter(has_text=NEW_SUBJECT).wait_for()
    # The dark-mode frames are one click away, with CSS alone.
    assert not page.locator("iframe.preview-html-dark").first.is_visible()
    page.get_by_label("Dark mode").check()
    assert page.locator("iframe.preview-html-dark").first.is_visible()
    assert not page.locator("iframe.preview-html").first.is_visible()
    assert not EmailCopy.objects.filter(subject=NEW_SUBJECT).exists()
