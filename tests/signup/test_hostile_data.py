"""Issue 12 I: hostile data at the signup, landing and sign-in boundaries.

- anonymous visits stored any UTM value: bounded in length, characters, and distinct values a day;
- a spam complaint did not stop confirmation mail: a stranger re-signing that address got one;
- one mailbox under many spellings got one confirmation per spelling: the daily limit is per mailbox;
- IPv4-mapped IPv6 clients (`::ffff:a.b.c.d`) all shared one rate-limit bucket;
- "send me a sign-in link" did more work for buyers than for unknown addresses (measurably slower).
"""

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from emails import dispatch
from emails.models import ScheduledEmail
from emails.tracking import email_event_record
from funnel.landing.services import MAX_VISIT_SOURCES_PER_DAY, confirm_reminders_queue
from funnel.models import DailyVisit
from leads.models import Lead
from tests.signup.conftest import form_data, unique_ip

pytestmark = [pytest.mark.django_db]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


@pytest.fixture(autouse=True)
def _mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    dispatch._seconds_per_message = None


def _signup(email: str, **fields: str) -> int:
    client = Client(REMOTE_ADDR=unique_ip(), HTTP_USER_AGENT=BROWSER)
    return client.post("/signup/", form_data(email=email, **fields)).status_code


def _confirmations_sent() -> list[Any]:
    dispatch.dispatch_due()
    sent: list[Any] = mail.outbox  # anymail's messages, with their tags
    return [m for m in sent if m.tags and m.tags[0] in ("confirm", "confirm-reminder")]


# --- UTM values of anonymous visits ------------------------------------------------------------------------------

def test_visit_utm_values_are_bounded_in_length_and_characters() -> None:
    visitor = Client(HTTP_USER_AGENT=BROWSER)
    visitor.get("/", {"utm_source": "x" * 300, "utm_medium": "cpc", "utm_campaign": "spring sale"})
    visitor.get("/", {"utm_source": "=1+2", "utm_medium": "@SUM(A1)", "utm_campaign": "<script>"})
    visitor.get("/", {"utm_source": "ok\x00\u202ehidden"})
    rows = list(DailyVisit.objects.values_list("utm_source", "utm_medium", "utm_campaign", "count"))
    assert ("x" * 64, "cpc", "spring sale", 1) in rows
    assert ("(other)", "(other)", "(other)", 1) in rows
    assert all(len(value) <= 64 and "=" not in value and "<" not in value and "\x00" not in value
               and "\u202e" not in value for row in rows for value in row[:3])
    # The signup form's hidden fields carry the bounded value, and so does the lead.
    page = visitor.get("/", {"utm_source": "=HYPERLINK(1)", "utm_term": "neck pain"}).content.decode()
    assert 'name="utm_source" value="(other)"' in page and 'name="utm_term" value="neck pain"' in page


def test_distinct_visit_sources_a_day_are_capped() -> None:
    visitor = Client(HTTP_USER_AGENT=BROWSER)
    visits = MAX_VISIT_SOURCES_PER_DAY + 25
    with time_machine.travel(timezone.now(), tick=False):
        for n in range(visits):
            visitor.get("/", {"utm_source": f"made-up-{n}"})
        day = timezone.now().date()  # the day the visits were counted for, even if midnight has passed since
    assert DailyVisit.objects.filter(date=day).count() <= MAX_VISIT_SOURCES_PER_DAY + 1
    assert sum(DailyVisit.objects.filter(date=day).values_list("count", flat=True)) == visits  # none lost
    assert DailyVisit.objects.get(date=day, utm_source="(other)").count == 25


def test_signup_attribution_is_bounded_like_visits() -> None:
    assert _signup("attrib@example.com", utm_source="=HYPERLINK(\"x\")", utm_campaign="@SUM(1)",
                   utm_content="y" * 90) == 302
    lead = Lead.objects.get(email="attrib@example.com")
    assert (lead.utm_source, lead.utm_campaign, lead.utm_content) == ("(other)", "(other)", "y" * 64)


# --- Confirmation mail ------------------------------------------------------------------------------------------

def test_a_spam_complaint_stops_confirmation_mail_for_that_address() -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert _signup("victim@example.com") == 302
        [first] = _confirmations_sent()
        row = ScheduledEmail.objects.get(lead__email="victim@example.com", step="confirm")
        # The owner never asked for it and pressed "spam" (the ESP's webhook, through anymail's normalised event).
        email_event_record(esp_name="test", event=AnymailTrackingEvent(
            event_type="complained", event_id=f"complaint-{uuid.uuid4().hex}", message_id=row.esp_message_id,
            recipient="victim@example.com", metadata={"row_id": str(row.pk), "lead_id": str(row.lead_id)},
            timestamp=timezone.now()))
        assert Lead.objects.get(email="victim@example.com").suppression == Lead.Suppression.COMPLAINT

        clock.shift(timedelta(days=2))  # a new day: the daily limit is not what stops it
        assert _signup("victim@example.com") == 302
        assert _signup("Victim+again@example.com") == 302  # another spelling of the same mailbox
        assert _confirmations_sent() == [first]
        # Nor does the 24-hour confirmation reminder go out.
        confirm_reminders_queue()
        assert _confirmations_sent() == [first]


SPELLINGS = ['"AnnLee"@gmail.com', "Ann.Lee@gmail.com", "a.n.n.l.e.e+x@GoogleMail.com", '"ann.lee+z"@gmail.com',
             "ANNLEE+promo@googlemail.com", "ann.lee+2@gmail.com", "annlee@gmail.com"]


def test_one_mailbox_under_many_spellings_gets_one_confirmation_a_day() -> None:
    with time_machine.travel(timezone.now().replace(hour=10), tick=False) as clock:
        for spelling in SPELLINGS:
            assert _signup(spelling) == 302
        assert Lead.objects.count() == len(SPELLINGS)  # each spelling is a lead of its own…
        assert len(_confirmations_sent()) == 1  # …but the mailbox got one email
        clock.shift(timedelta(hours=8))
        assert _signup("a.nnlee@gmail.com") == 302
        assert len(_confirmations_sent()) == 1
        # The next day one more, and the 24-hour reminders of the other spellings do not pile up on top.
        clock.shift(timedelta(hours=16))
        confirm_reminders_queue()
        assert _signup("ann.lee+3@gmail.com") == 302
        assert len(_confirmations_sent()) == 2
    # Other mailboxes are unaffected.
    assert _signup("ann.lee@example.com") == 302 and _signup("annlee@example.com") == 302
    assert len(_confirmations_sent()) == 4


# --- Rate-limit buckets -----------------------------------------------------------------------------------------

def test_ipv4_mapped_ipv6_clients_are_counted_as_their_ipv4_address(settings: Any, held_clock: datetime) -> None:
    settings.SIGNUP_RATE_LIMIT = "2/h"
    one, other = unique_ip(), unique_ip()
    mapped = Client(REMOTE_ADDR=f"::ffff:{one}", HTTP_USER_AGENT=BROWSER)
    codes = [mapped.post("/signup/", form_data(email=f"m{n}-{uuid.uuid4().hex[:8]}@example.com")).status_code
             for n in range(3)]
    assert codes == [302, 302, 429]
    # The same client over plain IPv4 is the same client…
    plain = Client(REMOTE_ADDR=one, HTTP_USER_AGENT=BROWSER)
    assert plain.post("/signup/", form_data(email=f"p-{uuid.uuid4().hex[:8]}@example.com")).status_code == 429
    # …and another IPv4 client behind a dual-stack socket is not.
    neighbour = Client(REMOTE_ADDR=f"::ffff:{other}", HTTP_USER_AGENT=BROWSER)
    assert neighbour.post("/signup/", form_data(email=f"n-{uuid.uuid4().hex[:8]}@example.com")).status_code == 302


# --- "Send me a sign-in link" -----------------------------------------------------------------------------------

def _normalised(sql: str) -> str:
    """A statement without its values: the address, the random key and the times differ, the work does not."""
    return re.sub(r"\b\d+\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))


def _signin_request_work(email: str, capture_on_commit: Any) -> tuple[list[str], list[str], int, bytes]:
    client = Client(REMOTE_ADDR=unique_ip())
    with CaptureQueriesContext(connection) as queries, capture_on_commit() as callbacks:
        response = client.post("/signin/", {"email": email})
    return ([_normalised(q["sql"]) for q in queries.captured_queries],
            [getattr(c, "__qualname__", repr(c)) for c in callbacks], response.status_code, response.content)


def test_a_signin_request_does_the_same_work_for_a_buyer_and_an_unknown_address(
        django_capture_on_commit_callbacks: Any) -> None:
    buyer_email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    buyer = Lead.objects.create(email=buyer_email, status=Lead.Status.SUBSCRIBED, is_customer=True,
                                customer_since=timezone.now())
    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.com"
    buyer_sql, buyer_commits, buyer_status, buyer_page = _signin_request_work(
        buyer_email, django_capture_on_commit_callbacks)
    unknown_sql, unknown_commits, unknown_status, unknown_page = _signin_request_work(
        unknown, django_capture_on_commit_callbacks)

    assert buyer_sql, "the request ran no query at all"
    assert buyer_sql == unknown_sql  # the same statements, in the same order
    assert buyer_commits == unknown_commits  # the same hand-over to the dispatcher
    assert (buyer_status, buyer_page) == (unknown_status, unknown_page)
    # And the outcome still differs where it must: only the buyer gets a link.
    assert ScheduledEmail.objects.filter(lead=buyer, step="signin").count() == 1
    assert ScheduledEmail.objects.filter(step="signin").count() == 1
