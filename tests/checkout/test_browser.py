"""Chromium, start to finish: an email's upgrade link → the checkout simulator → the unlocked full guide."""

import re

import pytest
from django.test import Client

from emails.models import ScheduledEmail
from emails.rendering import render_email
from funnel.models import Purchase
from tests.checkout.conftest import email_row_make, found, lead_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_email_upgrade_link_through_simulator_to_unlocked_full_guide(live_server, page, settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = live_server.url
    lead = lead_make("chromium@example.com")
    row = email_row_make(lead, "day-3")
    day_three = render_email(lead, row)
    upgrade_link = found(rf'href="({re.escape(live_server.url)}/c/[^"]+)"', day_three.html)

    page.goto(upgrade_link)  # the click redirect → /upgrade/<token>/: a page with one button (scanners stop here)
    page.get_by_role("button", name="Continue to secure checkout").click()  # POST → 303 → the checkout
    page.wait_for_url(re.compile(r"/dev/checkout/cs_test_sim_"))
    page.get_by_role("button", name="Pay with card").click()

    page.wait_for_url(re.compile(r"/checkout/success/\?session_id=cs_test_sim_"))
    assert "full guide is unlocked" in page.content()
    page.get_by_role("link", name="Open the full guide").click()
    page.wait_for_url(f"{live_server.url}/guide/")
    assert "This is your complete guide" in page.content()
    assert "not medical advice" in page.inner_text("footer").lower()

    purchase = Purchase.objects.get()
    assert (purchase.lead_id, purchase.scheduled_email_id) == (lead.pk, row.pk)  # credited to the day-3 email

    # The access email's magic link signs in a second device, through its button (not on GET).
    access = ScheduledEmail.objects.get(lead=lead, step="access")
    lead.refresh_from_db()
    magic = found(r"(http://\S+/signin/\S+/)", render_email(lead, access).text)
    other = page.context.browser.new_context()
    try:
        phone = other.new_page()
        phone.goto(magic)
        phone.get_by_role("button", name="Sign in").click()
        phone.wait_for_url(f"{live_server.url}/guide/")
        assert "This is your complete guide" in phone.content()
    finally:
        other.close()
    assert "This is your complete guide" not in Client().get("/guide/").content.decode()  # a stranger sees no more
