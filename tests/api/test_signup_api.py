"""POST /api/v1/signups: the landing form's rules through JSON, one answer for every address, CORS for the allowed
sites only."""

from typing import Any

import pytest
from django.test import Client

from emails.models import ScheduledEmail
from leads.consent import CONSENT_TEXT, CONSENT_VERSION
from leads.models import ConsentRecord, Lead
from tests.api.conftest import ALLOWED, REFUSED, post_json, signup_body
from tests.signup.conftest import make_lead, unique_ip

pytestmark = pytest.mark.django_db


def _stranger(body: dict[str, Any], **headers: str) -> Any:
    return post_json(Client(REMOTE_ADDR=unique_ip()), body, **headers)


def test_new_known_and_unsubscribed_addresses_get_the_same_answer() -> None:
    subscribed = make_lead("known@example.com")
    unsubscribed = make_lead("gone@example.com", Lead.Status.UNSUBSCRIBED)
    answers = {email: _stranger(signup_body(email=email, first_name="Mallory"), Origin=ALLOWED)
               for email in ("new@example.com", "known@example.com", "gone@example.com")}
    assert {(a.status_code, a.content) for a in answers.values()} == {(202, answers["new@example.com"].content)}
    assert answers["new@example.com"].json()["status"] == "accepted"
    new = Lead.objects.get(email="new@example.com")
    assert new.status == Lead.Status.PENDING
    assert list(ScheduledEmail.objects.filter(lead=new).values_list("step", flat=True)) == ["confirm"]
    # A subscriber gets nothing and is not changed by a stranger typing their address.
    assert not ScheduledEmail.objects.filter(lead=subscribed).exists()
    subscribed.refresh_from_db()
    assert (subscribed.first_name, subscribed.status) == ("Existing", Lead.Status.SUBSCRIBED)
    # An unsubscribed address stays unsubscribed: as on the landing form, only the mailbox's owner can come back,
    # through the confirmation email (funnel.landing.services.signup_submit).
    unsubscribed.refresh_from_db()
    assert unsubscribed.status == Lead.Status.UNSUBSCRIBED
    assert not ScheduledEmail.objects.filter(stream="marketing").exists()


def test_a_signup_is_recorded_with_its_consent_and_the_site_as_its_source(client: Client) -> None:
    answer = post_json(client, signup_body(email="  Reader@Example.COM "), Origin=ALLOWED,
                       Referer=f"{ALLOWED}/posts/back-pain")
    assert answer.status_code == 202
    assert answer["Access-Control-Allow-Origin"] == ALLOWED
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.time_zone) == ("reader@example.com", "Dana", "Europe/Berlin")
    assert (lead.utm_source, lead.utm_medium, lead.referrer) == ("blog.example.org", "api",
                                                                f"{ALLOWED}/posts/back-pain")
    consent = ConsentRecord.objects.get()
    assert consent.consent_version == CONSENT_VERSION
    assert consent.consent_text.startswith(CONSENT_TEXT) and f"from {ALLOWED}" in consent.consent_text
    assert consent.user_agent == "Mozilla/5.0 (api test)"


def test_a_server_without_origin_may_call_it(client: Client) -> None:
    assert post_json(client, signup_body()).status_code == 202
    assert (Lead.objects.get().utm_source, Lead.objects.get().utm_medium) == ("api", "api")


def test_a_page_of_our_own_may_call_it(client: Client, settings: Any) -> None:
    assert post_json(client, signup_body(), Origin=settings.SITE_URL).status_code == 202


@pytest.mark.parametrize("consent", [False, None, "true", 1])
def test_consent_must_be_the_boolean_true(client: Client, consent: Any) -> None:
    answer = post_json(client, signup_body(consent=consent))
    assert answer.status_code == 422
    assert list(answer.json()["errors"]) == ["consent"]
    assert not Lead.objects.exists() and not ConsentRecord.objects.exists()


def test_field_errors_say_what_to_fix(client: Client) -> None:
    answer = post_json(client, {"email": "not-an-address", "first_name": "Visit https://spam.example",
                                "consent": True})
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors["email"] == ["That address is missing its @ part, e.g. name@example.com."]
    assert set(errors) == {"email", "first_name"}
    missing = post_json(client, {"first_name": "Dana"}).json()["errors"]
    assert missing == {"email": ["This field is required."], "consent": ["This field is required."]}
    assert not Lead.objects.exists()


@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', "null", "", '{"email": "\\ud800@example.com", '
                                  '"consent": true}', '{"email": "a@example.com", "first_name": "\\ud800", '
                                  '"consent": true}'])
def test_malformed_bodies_are_refused_without_a_trace(client: Client, body: str) -> None:
    answer = post_json(client, body)
    assert answer.status_code in (400, 422), answer.content
    assert answer["Content-Type"].startswith("application/json")
    assert not Lead.objects.exists()


def test_a_refused_origin_is_not_served_and_its_post_changes_nothing(client: Client) -> None:
    preflight = client.options("/api/v1/signups", headers={"Origin": REFUSED,
                                                           "Access-Control-Request-Method": "POST",
                                                           "Access-Control-Request-Headers": "content-type"})
    assert "Access-Control-Allow-Origin" not in preflight
    answer = post_json(client, signup_body(), Origin=REFUSED)
    assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer
    assert "SIGNUP_ALLOWED_ORIGINS" in answer.json()["detail"]
    assert not Lead.objects.exists()


def test_an_allowed_origin_gets_its_preflight_answered(client: Client) -> None:
    preflight = client.options("/api/v1/signups", headers={"Origin": ALLOWED,
                                                           "Access-Control-Request-Method": "POST",
                                                           "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "content-type" in preflight["Access-Control-Allow-Headers"]
    # CORS is for the API only: no other page lets another site read it.
    assert "Access-Control-Allow-Origin" not in client.get("/", headers={"Origin": ALLOWED})


def test_the_landing_forms_rate_limit_holds_for_the_api_too(settings: Any) -> None:
    settings.SIGNUP_RATE_LIMIT = "2/h"
    client = Client(REMOTE_ADDR=unique_ip())
    answers = [post_json(client, signup_body(email=f"r{n}@example.com")).status_code for n in range(3)]
    assert answers == [202, 202, 429]
    assert Lead.objects.count() == 2


def test_the_schema_is_served_and_names_the_consent_text(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/signups"]["post"]
    assert set(operation["responses"]) == {"202", "400", "403", "422", "429"}
    body = schema["components"]["schemas"]["SignupIn"]
    assert set(body["required"]) == {"email", "consent"}
    assert CONSENT_TEXT in schema["info"]["description"]
