"""The sunset's rules in the admin's sequence settings: shown with their defaults, saved, refused out of range, and
read by the beat task."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from emails.content.models import SequenceSettings
from emails.content.timing import sequence_timing_forget
from emails.sunset import SunsetRules, sunset_rules

pytestmark = pytest.mark.django_db
PAGE = "/admin/emails/sequencesettings/1/change/"
TIMING = {"send_hour": "", "days_between_steps": "1", "follow_up_after_days": "2", "follow_up_days_between": "3"}


@pytest.fixture(autouse=True)
def _fresh_timing() -> Iterator[None]:
    sequence_timing_forget()
    yield
    sequence_timing_forget()


@pytest.fixture
def staff() -> Client:
    User.objects.create_superuser("ops", "ops@example.com", "pw")
    client = Client()
    client.login(username="ops", password="pw")
    return client


def test_the_rules_are_set_in_the_sequence_settings(staff: Client) -> None:
    page = staff.get(PAGE).content.decode()
    assert "Sunset: emails without a click" in page and "do you still want these?" in page
    assert sunset_rules() == SunsetRules(after_emails=10, subscribed_days=60, grace_days=7)  # the defaults

    answer = staff.post(PAGE, {**TIMING, "sunset_after_emails": "5", "sunset_subscribed_days": "90",
                               "sunset_grace_days": "10"})
    assert answer.status_code == 302
    assert sunset_rules() == SunsetRules(after_emails=5, subscribed_days=90, grace_days=10)
    # A save that leaves them out keeps them.
    assert staff.post(PAGE, TIMING).status_code == 302
    assert sunset_rules() == SunsetRules(after_emails=5, subscribed_days=90, grace_days=10)


@pytest.mark.parametrize(("field", "value"), [("sunset_after_emails", "2"), ("sunset_subscribed_days", "13"),
                                              ("sunset_grace_days", "0"), ("sunset_grace_days", "61")])
def test_out_of_range_rules_are_refused(staff: Client, field: str, value: str) -> None:
    answer = staff.post(PAGE, {**TIMING, field: value})
    assert answer.status_code == 200 and list(answer.context["adminform"].form.errors) == [field]
    assert not SequenceSettings.objects.exists()
