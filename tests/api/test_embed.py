"""The embeddable form: posted from another site's page, it lands the reader on our thank-you page (303) with the
site recorded as the source; from a site not in SIGNUP_ALLOWED_ORIGINS nothing is stored. Its page in the admin."""

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from emails.models import ScheduledEmail
from funnel.embed.snippet import snippet_html
from leads.consent import CONSENT_TEXT, CONSENT_VERSION
from leads.models import ConsentRecord, Lead
from tests.api.conftest import ALLOWED, REFUSED

pytestmark = pytest.mark.django_db


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.inputs: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = a
        elif tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a


def _snippet() -> _Inputs:
    parsed = _Inputs()
    parsed.feed(snippet_html())
    return parsed


def _filled(**overrides: str) -> dict[str, str]:
    """What a reader's browser posts from the snippet: its hidden fields as shipped, plus what they typed."""
    fields = {name: a.get("value", "") for name, a in _snippet().inputs.items() if a.get("type") != "checkbox"}
    return {**fields, "email": "reader@example.com", "first_name": "Dana", "consent": "on", **overrides}


def test_the_snippet_posts_to_us_with_the_consent_wording_and_a_hidden_honeypot(settings: Any) -> None:
    snippet = _snippet()
    assert snippet.form["action"] == f"{settings.SITE_URL}/embed/signup/" and snippet.form["method"] == "post"
    assert snippet.inputs["consent_version"]["value"] == CONSENT_VERSION
    assert CONSENT_TEXT in snippet_html()
    honeypot = snippet.inputs["website"]
    assert honeypot["tabindex"] == "-1"
    assert re.search(r'<div class="pr-hp" aria-hidden="true">', snippet_html())
    assert ".pain-reset-signup .pr-hp{position:absolute;left:-10000px" in snippet_html()


def test_posted_from_an_allowed_site_the_reader_lands_on_our_thank_you_page(client: Client) -> None:
    answer = client.post("/embed/signup/", _filled(time_zone="Asia/Tokyo"),
                         headers={"Origin": ALLOWED, "Referer": f"{ALLOWED}/posts/back-pain"})
    assert answer.status_code == 303 and answer["Location"] == "/thanks/"
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.time_zone, lead.status) == (
        "reader@example.com", "Dana", "Asia/Tokyo", Lead.Status.PENDING)
    assert (lead.utm_source, lead.utm_medium, lead.referrer) == ("blog.example.org", "embed",
                                                                f"{ALLOWED}/posts/back-pain")
    assert ConsentRecord.objects.get().consent_text == CONSENT_TEXT
    assert ScheduledEmail.objects.get(lead=lead).step == "confirm"
    thanks = client.get(answer["Location"])
    assert b"check your inbox" in thanks.content and b"reader@example.com" in thanks.content


def test_the_referer_names_the_site_when_the_origin_is_missing(client: Client) -> None:
    answer = client.post("/embed/signup/", _filled(), headers={"Referer": f"{ALLOWED}/about"})
    assert answer.status_code == 303
    assert Lead.objects.get().utm_source == "blog.example.org"


def test_the_source_cannot_be_chosen_by_the_form(client: Client) -> None:
    client.post("/embed/signup/", _filled(utm_source="evil", utm_medium="cpc", referrer="https://x.example/"),
                headers={"Origin": ALLOWED})
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium, lead.referrer) == ("blog.example.org", "embed", "")


@pytest.mark.parametrize("headers", [{"Origin": REFUSED, "Referer": f"{REFUSED}/page"}, {"Origin": "null"}, {},
                                     {"Referer": f"{REFUSED}/page"}, {"Origin": "http://blog.example.org"}])
def test_posted_from_any_other_site_nothing_is_stored(client: Client, headers: dict[str, str]) -> None:
    answer = client.post("/embed/signup/", _filled(), headers=headers)
    assert answer.status_code == 403
    assert b"This form cannot sign you up from that site" in answer.content
    assert b"Education, not medical advice." in answer.content
    assert not Lead.objects.exists() and not ConsentRecord.objects.exists() and not ScheduledEmail.objects.exists()


def test_a_bot_filling_the_honeypot_lands_on_the_same_page_and_nothing_is_stored(client: Client) -> None:
    answer = client.post("/embed/signup/", _filled(website="https://spam.example"), headers={"Origin": ALLOWED})
    assert answer.status_code == 303 and answer["Location"] == "/thanks/"
    assert not Lead.objects.exists() and not ScheduledEmail.objects.exists()


def test_a_mistake_is_shown_on_our_form_to_fix_there(client: Client) -> None:
    answer = client.post("/embed/signup/", _filled(email="not-an-address", consent=""), headers={"Origin": ALLOWED})
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "That address is missing its @ part" in page and 'id="consent-error"' in page
    assert 'action="/signup/"' in page and "csrfmiddlewaretoken" in page
    assert 'name="utm_source" value="blog.example.org"' in page  # the source survives the correction
    assert not Lead.objects.exists()


def test_a_snippet_with_old_consent_wording_is_refused(client: Client) -> None:
    answer = client.post("/embed/signup/", _filled(consent_version="2001-01-01"), headers={"Origin": ALLOWED})
    assert answer.status_code == 400 and b"We updated the wording of this box" in answer.content
    assert not Lead.objects.exists()


def test_the_rate_limit_of_the_landing_form_holds(client: Client, settings: Any) -> None:
    settings.SIGNUP_RATE_LIMIT = "1/h"
    assert client.post("/embed/signup/", _filled(), headers={"Origin": ALLOWED}).status_code == 303
    assert client.post("/embed/signup/", _filled(email="b@example.com"), headers={"Origin": ALLOWED}).status_code == 429
    assert Lead.objects.count() == 1


def test_only_post(client: Client) -> None:
    assert client.get("/embed/signup/").status_code == 405


def test_the_snippet_page_is_for_staff_only(client: Client, admin_client: Client, marketer: Any) -> None:
    anonymous = client.get("/admin/signup-form/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    from django.contrib.auth.models import User

    reader = User.objects.create_user("reader", "r@example.com", "pw")
    client.force_login(reader)
    assert client.get("/admin/signup-form/").status_code == 302  # not staff: the admin's login page
    client.force_login(marketer)
    page = client.get("/admin/signup-form/").content.decode()
    assert "Signup form for other sites" in page
    assert "&lt;form class=&quot;pain-reset-signup&quot;" in page  # the markup, escaped inside the text area
    assert 'id="copy-snippet"' in page and "js/copy-snippet.js" in page
    assert "https://blog.example.org" in page
    assert "/admin/signup-form/" in admin_client.get("/admin/").content.decode()


def test_the_snippet_page_warns_when_no_site_is_allowed(admin_client: Client, settings: Any) -> None:
    settings.SIGNUP_ALLOWED_ORIGINS = []
    page = admin_client.get("/admin/signup-form/").content.decode()
    assert "No site is allowed yet" in page
