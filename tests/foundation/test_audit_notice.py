"""Every page a reader can open and every email we send carries the not-medical-advice notice.

The page list is checked against the URL configuration, so a new public page without a case here fails
`test_every_public_url_is_covered` instead of silently escaping the notice check.
"""

import html as html_lib
import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from emails.links import preferences_url, unsubscribe_url
from emails.models import ScheduledEmail
from emails.rendering import render_email
from emails.services import email_queue, sequence_enrol
from funnel.checkout.signin import signin_url
from funnel.checkout.start import upgrade_url
from funnel.guide import content
from leads.confirmation import confirm_token_make
from leads.models import Lead
from leads.privacy_link import privacy_token_make
from leads.services import lead_make_customer

pytestmark = pytest.mark.django_db

NOTICE = "Education, not medical advice."
_seq = itertools.count(1)

# Not pages for readers: machine endpoints, staff-only admin, and DEBUG-only developer tools.
NOT_PAGES = {"healthz", "readyz", "stripe-webhook", "email-click",
             "signout",  # POST-only, answers with a redirect
             "preferences-time-zone",  # POST-only, redirects to the preferences page
             "favicon"}  # an image
NOT_PAGE_PREFIXES = ("admin/", "anymail/", "dev/outbox/", "webhooks/", "api/")  # api/: JSON


def _lead(*, buyer: bool = False, status: str = Lead.Status.SUBSCRIBED) -> Lead:
    lead = Lead.objects.create(email=f"notice{next(_seq)}@example.com", first_name="Noa", status=status,
                               time_zone="Europe/Berlin")
    if buyer:
        lead_make_customer(lead=lead)
        lead.refresh_from_db()
    return lead


def _path(url: str) -> str:
    return url.removeprefix(settings.SITE_URL)


def _signed_in(client: Client, lead: Lead) -> Client:
    from leads.access import SESSION_LEAD, SESSION_VERSION

    session = client.session
    session[SESSION_LEAD] = lead.pk
    session[SESSION_VERSION] = lead.access_version
    session.save()
    return client


# name -> (url pattern name, builder returning (client, path)); several cases may cover one URL name.
PageCase = Callable[[Client], str]


def _buyer_page(name: str, *args: str) -> PageCase:
    def case(client: Client) -> str:
        _signed_in(client, _lead(buyer=True))
        return reverse(name, args=args)
    return case


PAGE_CASES: dict[str, tuple[str, PageCase]] = {
    "landing": ("landing", lambda c: reverse("landing")),
    "thanks": ("signup-thanks", lambda c: reverse("signup-thanks")),
    "confirm": ("confirm", lambda c: reverse("confirm", args=[confirm_token_make(_lead(status=Lead.Status.PENDING))])),
    "confirm-bad-token": ("confirm", lambda c: reverse("confirm", args=["not-a-token"])),
    "free-guide": ("free-guide", lambda c: reverse("free-guide")),
    "preferences": ("preferences", lambda c: _path(preferences_url(_lead()))),
    "preferences-bad-token": ("preferences", lambda c: reverse("preferences", args=["nope"])),
    "preferences-erase": ("preferences-erase", lambda c: _path(preferences_url(_lead())) + "erase/"),
    "privacy-export": ("privacy-export",
                       lambda c: reverse("privacy-export", args=[privacy_token_make(_lead(), "export")])),
    "privacy-erase": ("privacy-erase", lambda c: reverse("privacy-erase", args=[privacy_token_make(_lead(), "erase")])),
    "privacy-bad-token": ("privacy-export", lambda c: reverse("privacy-export", args=["nope"])),
    "unsubscribe-page": ("unsubscribe-one-click", lambda c: _path(unsubscribe_url(_lead()))),
    "unsubscribe-bad-token": ("unsubscribe-one-click", lambda c: reverse("unsubscribe-one-click", args=["nope"])),
    "upgrade-bad-token": ("upgrade", lambda c: reverse("upgrade", args=["nope"])),
    "upgrade-buyer": ("upgrade", lambda c: _path(upgrade_url(lead_id=_lead(buyer=True).pk, email_row_id=None))),
    "buy": ("buy", lambda c: reverse("buy")),
    "checkout-success": ("checkout-success", lambda c: reverse("checkout-success") + "?session_id=cs_test_unknown"),
    "checkout-success-bare": ("checkout-success", lambda c: reverse("checkout-success")),
    "checkout-cancel": ("checkout-cancel", lambda c: reverse("checkout-cancel")),
    "signin": ("signin", lambda c: reverse("signin")),
    "signin-magic": ("signin-magic", lambda c: _path(signin_url(_lead(buyer=True)))),
    "signin-magic-bad": ("signin-magic", lambda c: reverse("signin-magic", args=["nope"])),
    "guide-anonymous": ("full-guide", lambda c: reverse("full-guide")),
    "app-anonymous": ("app", lambda c: reverse("app")),
    "app-session-anonymous": ("app-session", lambda c: reverse("app-session")),
    "full-guide": ("full-guide", _buyer_page("full-guide")),
    "guide-protocol": ("guide-protocol", _buyer_page("guide-protocol")),
    "guide-tools": ("guide-tools", _buyer_page("guide-tools")),
    "guide-areas": ("guide-areas", _buyer_page("guide-areas")),
    **{f"guide-area-{a.slug}": ("guide-area", _buyer_page("guide-area", a.slug)) for a in content.AREAS},
    "guide-mistakes": ("guide-mistakes", _buyer_page("guide-mistakes")),
    "guide-plan-7": ("guide-plan-7", _buyer_page("guide-plan-7")),
    "guide-plan-30": ("guide-plan-30", _buyer_page("guide-plan-30")),
    "app": ("app", _buyer_page("app")),
    "app-session": ("app-session", _buyer_page("app-session")),
    "app-session-area": ("app-session", lambda c: _buyer_page("app-session")(c) + f"?area={content.AREAS[0].slug}"),
}


# The heading each case must reach, so a case that quietly lands on an error page is caught.
EXPECTED_H1 = {
    "landing": "The pain comes back", "thanks": "check your inbox", "confirm": "One click to confirm",
    "confirm-bad-token": "no longer works", "free-guide": "quick reference", "preferences": "Your email settings",
    "preferences-bad-token": "does not work", "preferences-erase": "Erase my data", "unsubscribe-page": "Unsubscribe",
    "privacy-export": "Download my data", "privacy-erase": "Erase my data", "privacy-bad-token": "does not work",
    "unsubscribe-bad-token": "does not work", "upgrade-bad-token": "no longer works",
    "upgrade-buyer": "You already have the full guide", "buy": "The full guide", "checkout-success": "check your email",
    "checkout-success-bare": "check your email", "checkout-cancel": "No payment was made",
    "signin": "Sign in to the full guide", "signin-magic": "Sign in to the full guide",
    "signin-magic-bad": "expired or was already used", "guide-anonymous": "The complete 3-Step Pain Reset",
    "app-anonymous": "The daily-session app", "app-session-anonymous": "The daily-session app",
    "full-guide": "The complete 3-Step Pain Reset", "guide-protocol": "The protocol in detail", "guide-tools": "Tools",
    "guide-areas": "The six pain areas", "guide-mistakes": "The five mistakes", "guide-plan-7": "The 7-day plan",
    "guide-plan-30": "The 30-day plan", "app": "Your practice", "app-session": "Today's session",
    "app-session-area": "Today's session: low back",
    **{f"guide-area-{a.slug}": a.name for a in content.AREAS},
}


def _named_patterns(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _named_patterns(pattern.url_patterns, route)
        elif pattern.name:
            yield pattern.name, route


def test_every_public_url_is_covered() -> None:
    public = {name for name, route in _named_patterns(get_resolver().url_patterns)
              if name not in NOT_PAGES and not route.startswith(NOT_PAGE_PREFIXES)}
    # POST-only / DEBUG-only pages: checked in their own tests below.
    public -= {"signup", "checkout-simulator", "unsubscribe-reason", "preferences-export",
               "embed-signup"}  # tests/api/test_embed.py
    covered = {name for name, _ in PAGE_CASES.values()}
    assert public - covered == set(), "public pages without a notice check"


@pytest.mark.parametrize("case", list(PAGE_CASES))
def test_every_page_carries_the_notice(client: Client, case: str) -> None:
    path = PAGE_CASES[case][1](client)
    response = client.get(path, follow=True)
    assert response.status_code in (200, 400, 404, 410), (path, response.status_code)
    assert response["Content-Type"].startswith("text/html")
    page = html_lib.unescape(response.content.decode())
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert h1 and EXPECTED_H1[case] in re.sub(r"<[^>]+>", "", h1.group(1)), (case, h1)
    assert NOTICE in page, (case, response.redirect_chain)


def test_signup_error_page_carries_the_notice(client: Client) -> None:
    response = client.post(reverse("signup"), {"email": "not-an-address", "first_name": "x"}, REMOTE_ADDR="10.99.0.1")
    assert NOTICE in html_lib.unescape(response.content.decode())


def test_pages_answering_a_post_carry_the_notice(client: Client) -> None:
    lead = _lead()
    unsubscribe = _path(unsubscribe_url(lead))
    done = client.post(unsubscribe, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    reason = client.post(unsubscribe + "reason/", {"reason": "too-many"})
    paused = client.post(_path(preferences_url(lead)), {"action": "resubscribe"}, follow=True)
    link_sent = client.post(_path(preferences_url(lead)) + "export/")
    for response in (done, reason, paused, link_sent):
        assert response.status_code == 200
        assert NOTICE in html_lib.unescape(response.content.decode())


def test_error_pages_carry_the_notice(client: Client) -> None:
    missing = client.get("/no-such-page/")
    forged = Client(enforce_csrf_checks=True).post(reverse("signup"), {"email": "reader@example.com"})
    assert (missing.status_code, forged.status_code) == (404, 403)
    for response in (missing, forged):
        assert NOTICE in html_lib.unescape(response.content.decode())
    from django.views.defaults import server_error

    assert NOTICE in html_lib.unescape(server_error(RequestFactory().get("/")).content.decode())


def test_simulator_page_carries_the_notice(client: Client, settings: Any) -> None:
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    lead = _lead()
    response = client.post(_path(upgrade_url(lead_id=lead.pk, email_row_id=None)), follow=True)
    assert response.redirect_chain and "/dev/checkout/" in response.redirect_chain[-1][0]
    assert NOTICE in html_lib.unescape(response.content.decode())


def _all_steps() -> list[str]:
    from emails.content.loading import shipped_copy

    return sorted(shipped_copy())


def test_the_step_list_is_not_empty() -> None:
    assert {"confirm", "confirm-reminder", "welcome", "day-1", "day-7", "access", "signin",
            "payment-failed", "order-waiting"} <= set(_all_steps())


@pytest.mark.parametrize("step", _all_steps())
@pytest.mark.parametrize("buyer", [False, True], ids=["free", "buyer"])
def test_every_email_carries_the_notice_in_both_parts(step: str, buyer: bool) -> None:
    lead = _lead(buyer=buyer)
    sequence_enrol(lead=lead)
    row = ScheduledEmail.objects.filter(lead=lead, step=step).first() or email_queue(lead=lead, step=step)
    rendered = render_email(lead, row)
    assert NOTICE in rendered.text
    assert NOTICE in html_lib.unescape(rendered.html)
