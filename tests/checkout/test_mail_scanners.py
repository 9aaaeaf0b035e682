"""Issue 12 A: mailbox scanners (Safe Links and the like) fetch every link of a reminder. Only a person's press of
the upgrade page's button may open a Checkout Session; a scanner's GET or HEAD opens none, is not credited as a
reader's click, leads to no "order waiting" mail and does not use up the per-IP checkout limit."""

import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.utils import timezone

from emails.links import click_url
from emails.models import Click, ScheduledEmail
from funnel.checkout.start import upgrade_token, upgrade_token_read
from funnel.checkout.views import CHECKOUT_RATE_LIMIT
from funnel.models import CheckoutSession
from tests.checkout.conftest import email_row_make, found

pytestmark = pytest.mark.django_db

SAFE_LINKS = "Mozilla/5.0 (compatible; Microsoft Office SafeLinks Protection)"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari"


def test_a_scanner_fetching_the_reminders_upgrade_link_starts_no_checkout(fake_stripe, lead):
    row = email_row_make(lead)
    scanner = Client(headers={"User-Agent": SAFE_LINKS})
    click = urlparse(click_url(row=row, target="upgrade")).path
    upgrade = f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=row.pk)}/"

    assert scanner.head(click).status_code == 302
    followed = scanner.get(click, follow=True)
    # The redirect signs its own token (its timestamp may be a second later than ours): compare what it says.
    landed = followed.redirect_chain[-1][0]
    assert followed.status_code == 200 and landed.startswith("/upgrade/")
    assert upgrade_token_read(landed.removeprefix("/upgrade/").strip("/")) == (lead.pk, row.pk)
    assert scanner.head(upgrade).status_code == 200

    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []
    assert not CheckoutSession.objects.exists()
    assert not ScheduledEmail.objects.filter(lead=lead, step="order-waiting").exists()  # no session to expire
    assert Click.objects.count() == 2
    assert not Click.objects.filter(machine=Click.Machine.HUMAN).exists()


def test_a_person_reaches_stripe_with_one_press_of_a_csrf_protected_button(fake_stripe, lead):
    row = email_row_make(lead)
    reader = Client(enforce_csrf_checks=True, headers={"User-Agent": BROWSER})
    page = reader.get(urlparse(click_url(row=row, target="upgrade")).path, follow=True)
    html = page.content.decode()
    assert re.search(r'<form method="post">', html) and "reader@example.com" in html
    assert "<script" not in html.split("<main", 1)[-1]  # the button works without JavaScript
    csrf = found(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    upgrade = page.redirect_chain[-1][0]

    assert reader.post(upgrade).status_code == 403  # no CSRF token, no checkout
    pressed = reader.post(upgrade, {"csrfmiddlewaretoken": csrf})

    [session] = fake_stripe.sessions.values()
    assert pressed.status_code == 303 and pressed["Location"] == session["url"]
    assert session["customer_email"] == "reader@example.com"  # prefilled at Stripe
    assert CheckoutSession.objects.get().scheduled_email == row


def test_scanner_gets_do_not_use_up_the_checkout_limit_of_a_shared_ip(fake_stripe, lead):
    limit = int(CHECKOUT_RATE_LIMIT.split("/")[0])
    upgrade = f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=None)}/"
    scanner, reader = Client(headers={"User-Agent": SAFE_LINKS}), Client(headers={"User-Agent": BROWSER})
    for _ in range(limit + 5):
        assert scanner.get(upgrade).status_code == 200
    assert reader.post(upgrade).status_code == 303  # same IP (127.0.0.1): the limit is still whole
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1


def test_a_reader_who_opens_the_email_as_it_arrives_is_counted_a_person_once_they_press(fake_stripe, lead):
    """Seconds after delivery is how scanners click, but also how a reader tapping the notification does: the press
    of the CSRF-protected button (which no scanner makes) settles it. A scanner's HEAD is never re-classed."""
    row = email_row_make(lead)
    ScheduledEmail.objects.filter(pk=row.pk).update(status=ScheduledEmail.Status.SENT, sent_at=timezone.now())
    Client(headers={"User-Agent": SAFE_LINKS}).head(urlparse(click_url(row=row, target="upgrade")).path)
    reader = Client(headers={"User-Agent": BROWSER})
    page = reader.get(urlparse(click_url(row=row, target="upgrade")).path, follow=True)
    assert sorted(Click.objects.values_list("machine", flat=True)) == [Click.Machine.EARLY, Click.Machine.HEAD]

    pressed = reader.post(page.redirect_chain[-1][0])

    assert pressed.status_code == 303
    assert sorted(Click.objects.values_list("machine", flat=True)) == [Click.Machine.HUMAN, Click.Machine.HEAD]
    reader.post(page.redirect_chain[-1][0])  # pressing again credits no second click
    assert Click.objects.filter(machine=Click.Machine.HUMAN).count() == 1
