"""The message around a rendered email: sender, recipient, reply address, headers, tags, metadata and the ESP
stream. Marketing mail carries RFC 8058 one-click unsubscribe headers and a List-Id."""

from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

from django.conf import settings

from emails.compose import RenderedEmail
from emails.links import unsubscribe_url
from emails.mime import DripMessage
from emails.models import ScheduledEmail
from leads.models import Lead

FEEDBACK_ID_PRODUCT = "painreset"
POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"


def _sender_domain() -> str:
    return _domain_of(settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=4)
def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "painreset.example"


def _list_id() -> str:
    return f"Pain Reset 7-day plan <reminders.{_sender_domain()}>"


def feedback_id(row: ScheduledEmail) -> str:
    """Gmail's Feedback-ID, `campaign:stream:product:sender` (README): Postmaster Tools reports complaints per
    value of each field, so the email that draws them shows by name. The same for every reader of an email, never
    per message or per person, as Gmail asks; the ESP's DKIM signature covers it."""
    return f"{row.step}:{row.stream}:{FEEDBACK_ID_PRODUCT}:{_sender_domain()}"


def stream_esp_extra(stream: str) -> dict[str, Any]:
    """The ESP stream for this kind of mail, as anymail's esp_extra: complaints about the drip then weigh on the
    marketing stream's reputation, never on the one that carries sign-in links and receipts."""
    marketing = stream == ScheduledEmail.Stream.MARKETING
    configured = settings.ESP_EXTRA_MARKETING if marketing else settings.ESP_EXTRA_TRANSACTIONAL
    if configured:
        return dict(configured)  # a copy: some backends pop their own keys out of it
    if settings.EMAIL_BACKEND == POSTMARK_BACKEND:
        return {"MessageStream": settings.POSTMARK_MARKETING_STREAM if marketing
                else settings.POSTMARK_TRANSACTIONAL_STREAM}
    return {}


def build_message(lead: Lead, row: ScheduledEmail, rendered: RenderedEmail, *, to: str | None = None,
                  connection: Any = None) -> DripMessage:
    """The message for one row: replies go to REPLY_TO_EMAIL, the row's stream picks the ESP stream, and marketing
    mail carries RFC 8058 one-click unsubscribe headers."""
    marketing = row.stream == ScheduledEmail.Stream.MARKETING
    # Our own Message-ID: backends without an ESP id (SMTP) still give the row an id to find it by.
    headers: dict[str, str] = {"Message-ID": make_msgid(idstring=f"row{row.pk or 'test'}", domain=_sender_domain()),
                               "Feedback-ID": feedback_id(row)}
    one_click = rendered.unsubscribe_url or unsubscribe_url(lead)
    if marketing and one_click:
        headers["List-Unsubscribe"] = f"<{one_click}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if marketing:
        headers["List-Id"] = _list_id()
    message = DripMessage(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL if marketing else settings.TRANSACTIONAL_FROM_EMAIL,
        to=[to or lead.email or ""],
        reply_to=[settings.REPLY_TO_EMAIL] if settings.REPLY_TO_EMAIL else None,
        headers=headers,
        connection=connection,
        tags=[row.step],
        metadata={"lead_id": str(lead.pk), "step": row.step, "row_id": str(row.pk)},
        esp_extra=stream_esp_extra(row.stream),
    )
    message.attach_alternative(rendered.html, "text/html")
    return message
