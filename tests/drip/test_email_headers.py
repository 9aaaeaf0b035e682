"""Reply-To, Gmail's Feedback-ID and the ESP stream, on the wire: anymail's real Postmark backend against a local
fake of Postmark's API (what Postmark would receive), and a real SMTP server (what any mailbox would receive)."""

import email
import email.policy
import string
from collections.abc import Iterator
from email.policy import compat32
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from emails.dispatch import dispatch_batch
from emails.message import build_message
from emails.mime import SHORT_HEADER_POLICY
from emails.models import ScheduledEmail
from emails.rendering import render_email
from emails.services import email_queue, sequence_enrol

from .emails_all import all_steps, email_row
from .fake_esp import FakePostmark, point_anymail_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        yield fake


def received(esp: FakePostmark) -> dict[str, dict[str, Any]]:
    """Each request the fake Postmark received, by step, with its headers as a dict."""
    return {body["Metadata"]["step"]: {**body, "Headers": {h["Name"]: h["Value"] for h in body.get("Headers", [])}}
            for body in esp.received}


def send_welcome_and_signin(make_lead: Any) -> None:
    lead = make_lead()
    sequence_enrol(lead=lead)
    email_queue(lead=lead, step="signin", stream=ScheduledEmail.Stream.TRANSACTIONAL, key="layout-test")
    dispatch_batch()


def test_drip_and_account_mail_leave_through_separate_postmark_streams(esp: FakePostmark, make_lead: Any,
                                                                      settings: Any) -> None:
    send_welcome_and_signin(make_lead)
    sent = received(esp)
    assert sent["welcome"]["MessageStream"] == "broadcast"  # Postmark's default broadcast stream
    assert sent["signin"]["MessageStream"] == "outbound"  # and its default transactional stream

    settings.POSTMARK_MARKETING_STREAM, settings.POSTMARK_TRANSACTIONAL_STREAM = "drip", "account"
    esp.received.clear()
    send_welcome_and_signin(make_lead)
    sent = received(esp)
    assert (sent["welcome"]["MessageStream"], sent["signin"]["MessageStream"]) == ("drip", "account")


def test_an_esp_extra_per_stream_takes_precedence(esp: FakePostmark, make_lead: Any, settings: Any) -> None:
    # What the README shows for SES, SendGrid or Mailgun goes through the same door.
    settings.ESP_EXTRA_MARKETING = {"MessageStream": "from-json"}
    send_welcome_and_signin(make_lead)
    sent = received(esp)
    assert (sent["welcome"]["MessageStream"], sent["signin"]["MessageStream"]) == ("from-json", "outbound")


def test_every_email_has_reply_to_and_a_feedback_id(esp: FakePostmark, make_lead: Any, settings: Any) -> None:
    settings.REPLY_TO_EMAIL = "Pain Reset help <help@painreset.example>"
    send_welcome_and_signin(make_lead)
    sent = received(esp)
    assert {step: body["ReplyTo"] for step, body in sent.items()} == {
        "welcome": "Pain Reset help <help@painreset.example>", "signin": "Pain Reset help <help@painreset.example>"}
    # campaign:stream:product:sender, the same for every reader of an email (Gmail aggregates by value).
    assert sent["welcome"]["Headers"]["Feedback-ID"] == "welcome:marketing:painreset:painreset.example"
    assert sent["signin"]["Headers"]["Feedback-ID"] == "signin:transactional:painreset:painreset.example"


def test_without_a_reply_to_address_replies_go_to_the_sender(esp: FakePostmark, make_lead: Any,
                                                             settings: Any) -> None:
    settings.REPLY_TO_EMAIL = ""
    send_welcome_and_signin(make_lead)
    assert all("ReplyTo" not in body for body in esp.received)


@pytest.mark.smtp
def test_reply_to_and_feedback_id_in_the_mime_message(make_lead: Any, smtp_server: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    sequence_enrol(lead=make_lead())
    dispatch_batch()
    msg = email.message_from_bytes(smtp_server.messages[0].as_bytes(), policy=email.policy.default)
    assert msg["Reply-To"] == settings.REPLY_TO_EMAIL
    assert msg["Feedback-ID"] == "welcome:marketing:painreset:painreset.example"
    assert "MessageStream" not in msg.as_string()  # an ESP's API field, never a header of the message


@pytest.mark.parametrize("step", all_steps())
def test_the_html_part_goes_as_8bit_utf8_not_quoted_printable(step: str, make_lead: Any, settings: Any) -> None:
    """Django falls back to quoted-printable for a line over 998 bytes, which Python encodes slowly (and which
    bloats the message): the layout keeps lines short even with long signed links filled in."""
    settings.SITE_URL = "https://www.the-three-step-pain-reset-example.com"
    lead = make_lead(first_name="Maximiliane-Josephine " * 4, email=f"a-rather-long.mailbox-name.{step}@example.com")
    row = email_row(lead, step)
    message = build_message(lead, row, render_email(lead, row)).message()
    html_part = next(part for part in message.walk() if part.get_content_type() == "text/html")
    assert html_part["Content-Transfer-Encoding"] == "8bit"


@pytest.mark.parametrize("step", all_steps())
def test_the_short_header_shortcut_writes_the_same_bytes_as_pythons_policy(step: str, make_lead: Any) -> None:
    lead = make_lead(first_name="Zoë")  # a non-ASCII subject takes the full folding path
    row = email_row(lead, step)
    msg = build_message(lead, row, render_email(lead, row)).message()
    assert msg.policy is SHORT_HEADER_POLICY
    fast = msg.as_bytes(linesep="\r\n")
    msg.policy = compat32
    assert fast == msg.as_bytes(linesep="\r\n")


@given(name=st.sampled_from(["Subject", "Reply-To", "Feedback-ID", "List-Id", "X-Long-Header-Name"]),
       value=st.text(alphabet=string.printable + "é\u200c", max_size=100))
@hypothesis_settings(max_examples=2000, deadline=None)
def test_the_short_header_shortcut_folds_any_value_as_pythons_policy_does(name: str, value: str) -> None:
    def folded(policy: Any, method: str) -> Any:
        try:
            return getattr(policy, method)(name, value)
        except Exception as exc:  # noqa: BLE001 - a value Python refuses must be refused the same way
            return type(exc)

    for linesep in ("\n", "\r\n"):
        fast, plain = SHORT_HEADER_POLICY.clone(linesep=linesep), compat32.clone(linesep=linesep)
        for method in ("fold", "fold_binary"):
            assert folded(fast, method) == folded(plain, method)
