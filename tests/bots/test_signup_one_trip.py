"""The one-round-trip signup of a new address (funnel/landing/signup_one_trip.py) writes what the plain flow writes,
gives back a cap booking it did not use, and prepares its statements again on a new connection."""

from typing import Any

import pytest
import redis
from django.db import connection
from django.forms.models import model_to_dict

from emails.models import ScheduledEmail
from funnel.landing.services import signup_submit, signup_submit_plain
from funnel.landing.signup_one_trip import signup_new_address
from leads.models import ConsentRecord, Lead
from leads.services import Attribution
from tests.bots.conftest import START

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

_ATTRIBUTION = Attribution(utm_source="newsletter", utm_campaign="spring", referrer="https://search.example/")


def _signup(submit: Any, email: str) -> None:
    submit(email=email, first_name="Dana", time_zone="Europe/Berlin", ip_address="203.0.113.7",
           user_agent="Mozilla/5.0 (one trip)", attribution=_ATTRIBUTION, consent_text="I agree (test)")


def _rows() -> list[dict[str, Any]]:
    """Every lead with its consent records and emails, without ids (the two runs number them differently)."""
    def plain(obj: Any, *drop: str) -> dict[str, Any]:
        return {k: v for k, v in model_to_dict(obj).items() if k not in {"id", "lead", *drop}}

    return [{"lead": plain(lead),
             "consents": [plain(c) for c in ConsentRecord.objects.filter(lead=lead).order_by("pk")],
             "emails": [plain(e) for e in ScheduledEmail.objects.filter(lead=lead).order_by("pk")]}
            for lead in Lead.objects.order_by("email")]


def _no_bookings(settings: Any) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("confirm-cap:*"):
        client.delete(key)


def _forget_everything() -> None:
    ScheduledEmail.objects.all().delete()
    ConsentRecord.objects.all().delete()
    Lead.objects.all().delete()


# Each case: what was there before, then the signups. Gmail's dots and +tags name one mailbox.
CASES = {
    "a new address": [],
    "a second spelling of a mailbox confirmed today": ["dana.reader@gmail.com"],
    "a mailbox that complained": ["complained"],
    "a confirmation held by the domain's cap": ["held"],
}


@pytest.mark.parametrize("case", CASES)
def test_the_one_trip_path_writes_what_the_plain_flow_writes(case: str, clock: Any, settings: Any) -> None:
    settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = 1
    runs = []
    for submit in (signup_submit, signup_submit_plain):
        _forget_everything()
        if case == "a second spelling of a mailbox confirmed today":
            _signup(signup_submit_plain, "dana.reader@gmail.com")
        if case == "a mailbox that complained":
            _signup(signup_submit_plain, "danareader@gmail.com")
            Lead.objects.update(suppression=Lead.Suppression.COMPLAINT)
        if case == "a confirmation held by the domain's cap":
            _signup(signup_submit_plain, "first@gmail.com")  # takes this hour's one confirmation to gmail.com
        _signup(submit, "dana.reader+guide@gmail.com")
        runs.append(_rows())
        _no_bookings(settings)
    fast, plain = runs
    assert fast == plain
    new = next(r for r in fast if r["lead"]["email"] == "dana.reader+guide@gmail.com")
    assert [c["action"] for c in new["consents"]] == ["signup"]
    expected = {"a new address": 1, "a second spelling of a mailbox confirmed today": 0,
                "a mailbox that complained": 0, "a confirmation held by the domain's cap": 1}[case]
    assert len(new["emails"]) == expected


def test_a_known_address_is_left_to_the_plain_flow_and_its_booking_given_back(clock: Any, settings: Any) -> None:
    settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = 2
    _signup(signup_submit, "ana@example.org")
    assert signup_new_address(email="ana@example.org", first_name="Ana", time_zone="UTC", ip_address=None,
                              user_agent="", attribution=None, consent_text="x") is False
    _signup(signup_submit, "ana@example.org")  # known: a second consent record, no second confirmation today
    _signup(signup_submit, "bo@example.org")
    # Had the known address's bookings been kept, the domain's second confirmation of the hour would wait an hour.
    assert ScheduledEmail.objects.filter(step="confirm", lead__email="bo@example.org").get().send_at == START
    assert ConsentRecord.objects.filter(lead__email="ana@example.org").count() == 2  # the direct call wrote none
    assert ScheduledEmail.objects.filter(lead__email="ana@example.org").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_the_statements_prepared_again(clock: Any) -> None:
    _signup(signup_submit, "one@example.net")
    connection.close()  # a new connection has no prepared statements: they are made again, once
    _signup(signup_submit, "two@example.net")
    _signup(signup_submit, "three@example.net")
    assert ScheduledEmail.objects.filter(step="confirm").count() == 3
