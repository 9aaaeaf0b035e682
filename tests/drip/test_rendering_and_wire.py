"""What arrives in the inbox: the layout, the parts, the headers, through a real SMTP server."""

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch
from django.utils import timezone

from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText
from emails.context import register_context_provider, unregister_context_provider
from emails.dispatch import dispatch_batch
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from emails.rendering import render_email
from emails.services import sequence_enrol
from leads.models import Lead

pytestmark = pytest.mark.django_db
NOTICE = "Education, not medical advice."


@pytest.mark.parametrize("step", SEQUENCE_STEPS)
def test_every_sequence_email_has_the_notice_address_links_and_a_real_text_part(make_lead: Any, step: str,
                                                                               settings: Any) -> None:
    lead = make_lead(first_name="Ana & Bo")
    sequence_enrol(lead=lead)
    row = ScheduledEmail.objects.get(lead=lead, step=step)
    rendered = render_email(lead, row)
    html, text = rendered.html, rendered.text
    assert len(html.encode()) < 100 * 1024  # Gmail clips messages over 102 KB
    for part in (html, text):
        assert NOTICE in part and settings.COMPANY_POSTAL_ADDRESS in part
    assert "Ana & Bo" in text and "Ana &amp; Bo" in html  # escaped in HTML only
    assert "<" not in text  # a real plain-text part, not HTML with the tags left in
    assert ">Unsubscribe</a>" in html and ">Email preferences</a>" in html
    assert 'name="color-scheme" content="light dark"' in html and "prefers-color-scheme: dark" in html
    assert 'style="' in html  # CSS inlined for clients that drop <style>
    if step != "welcome":
        n = step.split("-")[1]
        assert rendered.subject.startswith(f"Day {n}:")
        for fact in ("30 to 90 seconds", "15 to 20 minutes of moist heat", "ONE MISTAKE TO AVOID"):
            assert fact in text


def test_context_providers_are_merged_at_send_time_for_their_steps(make_lead: Any, transactional_template: str) -> None:
    copy_publish(step="test-receipt", text=CopyText(subject="Receipt", preheader="",
                                                    body="Total {{ amount }} {{ reference }}\n"),
                 origin=EmailCopy.Origin.EDITOR)
    lead = make_lead()
    calls: list[int] = []

    def receipt(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
        calls.append(row.pk)
        return {"amount": "$9.97"}

    register_context_provider(receipt, steps=["test-receipt"])
    try:
        row = ScheduledEmail.objects.create(lead=lead, step="test-receipt", stream="transactional",
                                            send_at="2026-01-01T00:00Z", context={"reference": "PR-42"})
        assert render_email(lead, row).text.split("\n")[0] == "Total $9.97 PR-42"
        sequence_enrol(lead=lead)
        render_email(lead, ScheduledEmail.objects.get(lead=lead, step="day-1"))
        assert calls == [row.pk]  # not called for other steps
    finally:
        unregister_context_provider(receipt)


@pytest.mark.smtp
def test_wire_format_through_smtp_and_one_click_unsubscribe(make_lead: Any, smtp_server: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    leads = [make_lead() for _ in range(3)]
    for lead in leads:
        sequence_enrol(lead=lead)
    dispatch_batch()

    assert len(smtp_server.messages) == 3
    raw = smtp_server.messages[0].as_bytes()
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == settings.DEFAULT_FROM_EMAIL
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"].startswith("Pain Reset 7-day plan <")
    unsubscribe = msg["List-Unsubscribe"].strip()
    assert unsubscribe.startswith("<") and unsubscribe.endswith(">")
    url = urlparse(unsubscribe[1:-1])
    assert url.path.startswith("/u/")
    # A long Message-ID is folded onto its own line on the wire; the value itself has no whitespace.
    row = ScheduledEmail.objects.get(esp_message_id=msg["Message-ID"].strip())
    assert row.status == ScheduledEmail.Status.SENT

    # RFC 8058: the mailbox provider POSTs this body, with no cookie and no CSRF token.
    response = Client(enforce_csrf_checks=True).post(url.path, "List-Unsubscribe=One-Click",
                                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert Lead.objects.get(pk=row.lead_id).status == Lead.Status.UNSUBSCRIBED


@pytest.mark.parametrize("size", [10, 60])
def test_queries_per_batch_do_not_grow_with_the_batch(make_lead: Any, size: int) -> None:
    counts = {}
    for n in (5, size // 2, size):  # the first batch also learns the backend's speed (one more hand-off)
        ScheduledEmail.objects.all().delete()
        for _ in range(n):
            lead = make_lead()
            ScheduledEmail.objects.create(lead=lead, step="welcome", send_at="2026-01-01T00:00Z")
        with CaptureQueriesContext(connection) as ctx:
            outcomes = dispatch_batch(size=n)
        assert len(outcomes.sent) == n
        counts[n] = len(ctx.captured_queries)
    assert counts[size // 2] == counts[size], counts
    assert counts[size] <= 12


def test_queries_per_batch_do_not_grow_with_its_paused_rows(make_lead: Any) -> None:
    """A batch of paused readers' rows moves them, and the rest of their week, in the same few queries for two
    paused rows as for twenty."""
    now = timezone.now()
    counts = {}
    for n in (1, 2, 20):  # the first batch also reads the sequence's settings, cached after it
        ScheduledEmail.objects.all().delete()
        for _ in range(n):
            lead = make_lead(paused_until=now + timedelta(days=3))
            ScheduledEmail.objects.create(lead=lead, step="day-1", send_at=now - timedelta(minutes=1))
            for day in (2, 3):
                ScheduledEmail.objects.create(lead=lead, step=f"day-{day}", send_at=now + timedelta(days=day - 1))
        with CaptureQueriesContext(connection) as ctx:
            outcomes = dispatch_batch(size=n)
        counts[n] = len(ctx.captured_queries)
        assert len(outcomes.moved) == n and not outcomes.sent
        for lead in Lead.objects.filter(scheduled_emails__isnull=False).distinct():
            times = [r.send_at for r in ScheduledEmail.objects.filter(lead=lead).order_by("step")]
            assert lead.paused_until is not None and times[0] >= lead.paused_until
            days = [t.astimezone(ZoneInfo(lead.time_zone)).date() for t in times]
            assert [(b - a).days for a, b in zip(days, days[1:], strict=False)] == [1, 1]  # one a morning
    assert counts[2] == counts[20], counts


# A site where no URL name resolves: what an email meets whose link names a route that was renamed or mistyped.
urlpatterns: list[Any] = []


@pytest.mark.parametrize("reuse_step_render", [True, False], ids=["step-cache", "full-render"])
def test_an_email_whose_links_are_not_routed_fails_to_render_instead_of_linking_nowhere(
        make_lead: Any, settings: Any, reuse_step_render: bool) -> None:
    lead = make_lead()
    sequence_enrol(lead=lead)
    row = ScheduledEmail.objects.get(lead=lead, step="day-2")
    settings.ROOT_URLCONF = __name__
    with pytest.raises(NoReverseMatch):
        render_email(lead, row, reuse_step_render=reuse_step_render)


@pytest.mark.parametrize(("is_customer", "name"), [(False, "O'Brien & <Co>\xa0Ltd"), (True, "Zoë"),
                                                   (False, 'Al "the pal"'), (False, "")])
def test_reused_step_render_is_identical_to_a_full_render(make_lead: Any, is_customer: bool, name: str) -> None:
    """The per-step render cache must be invisible: same bytes as rendering every template for this reader."""
    lead = make_lead(first_name=name, is_customer=is_customer)
    sequence_enrol(lead=lead)
    # Signed links carry a timestamp: hold the clock so both renders sign in the same second.
    with time_machine.travel(timezone.now(), tick=False):
        for row in ScheduledEmail.objects.filter(lead=lead):
            fast, full = render_email(lead, row), render_email(lead, row, reuse_step_render=False)
            assert fast == full, row.step


def _contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two computed CSS colours ("rgb(r, g, b)")."""
    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_and_call_to_action_are_readable_in_light_and_dark_mode(make_lead: Any, browser: Any, scheme: str,
                                                                    tmp_path: Any) -> None:
    lead = make_lead()
    sequence_enrol(lead=lead)
    html = render_email(lead, ScheduledEmail.objects.get(lead=lead, step="day-1")).html
    page_file = tmp_path / "email.html"
    page_file.write_text(html)
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        colours = page.evaluate("""() => {
            const c = (el) => getComputedStyle(el);
            const texts = (sel, bg) => [...document.querySelectorAll(sel)].map(el => [c(el).color, bg]);
            const card = c(document.querySelector('.card')).backgroundColor;
            const page = c(document.body).backgroundColor;
            const button = document.querySelector('.button');
            return {card, pairs: [...texts('.card p, .card li, .card td, .card h1, .card h2', card),
                                  ...texts('.footer p, .footer a', page),
                                  [c(button).color, c(button).backgroundColor]]};
        }""")
    finally:
        context.close()
    worst = min(_contrast(fg, bg) for fg, bg in colours["pairs"])
    assert worst >= 4.5, [(fg, bg) for fg, bg in colours["pairs"] if _contrast(fg, bg) < 4.5]  # WCAG AA
    assert (scheme == "dark") == (_contrast(colours["card"], "rgb(0, 0, 0)") < 3)  # the scheme really changed
