"""List bombing: a script signs up 500 strangers at one company. Every signup is kept, but the company's mail
server gets at most the hourly cap of confirmations; the rest wait for the next hours, and the dashboard says so."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from emails.models import ScheduledEmail
from funnel.landing.abuse import confirmation_send_at
from leads.models import Lead
from tests.bots.conftest import START, dispatch_all, reader_signup

pytestmark = pytest.mark.django_db

NEXT_HOUR = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)


def _delivered_to(domain: str) -> int:
    return sum(1 for message in mail.outbox for to in message.to if to.endswith("@" + domain))


@pytest.mark.django_db(transaction=True)  # the held count is written after each signup commits
def test_500_signups_for_one_domain_are_kept_and_their_confirmations_go_out_at_the_cap_per_hour(
        settings: Any, clock: Any, marketer: Any) -> None:
    settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = 200
    answers = Counter(reader_signup(f"person{i}@victim.example").status_code for i in range(500))
    assert answers == {302: 500}
    assert reader_signup("someone@elsewhere.example").status_code == 302  # other domains are not held up

    assert Lead.objects.filter(email__endswith="@victim.example").count() == 500  # every signup kept
    rows = ScheduledEmail.objects.filter(step="confirm", lead__email__endswith="@victim.example")
    assert Counter(rows.values_list("send_at", flat=True)) == {
        START: 200, NEXT_HOUR: 200, NEXT_HOUR + timedelta(hours=1): 100}

    dispatch_all()
    assert (_delivered_to("victim.example"), _delivered_to("elsewhere.example")) == (200, 1)
    clock.move_to(NEXT_HOUR - timedelta(seconds=1))
    dispatch_all()
    assert _delivered_to("victim.example") == 200  # nothing before the hour turns
    clock.move_to(NEXT_HOUR)
    dispatch_all()
    assert _delivered_to("victim.example") == 400
    clock.move_to(NEXT_HOUR + timedelta(hours=1, minutes=30))
    dispatch_all()
    assert _delivered_to("victim.example") == 500
    assert rows.filter(status=ScheduledEmail.Status.SENT).count() == 500  # each once

    staff = Client()
    staff.force_login(marketer)
    page = staff.get(f"/admin/dashboard/?start={START:%Y-%m-%d}&end={START:%Y-%m-%d}").content.decode()
    panel = page[page.index('id="h-signup-guard"'):]
    assert "<tr><td>2027-03-10</td><td>0</td><td>300</td></tr>" in panel.split("</table>")[0]


def test_the_total_cap_holds_confirmations_to_every_domain(settings: Any, clock: Any) -> None:
    settings.CONFIRMATION_CAP_PER_HOUR = 3
    for i in range(5):
        reader_signup(f"reader@site{i}.example")
    send_at = dict(ScheduledEmail.objects.filter(step="confirm").values_list("lead__email", "send_at"))
    assert [send_at[f"reader@site{i}.example"] for i in range(5)] == [START] * 3 + [NEXT_HOUR] * 2


def test_a_held_booking_never_exceeds_either_cap_in_any_hour(settings: Any, clock: Any) -> None:
    """Two domains bombed at once under a small total: every hour holds at most the caps, none is skipped."""
    settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = 3
    settings.CONFIRMATION_CAP_PER_HOUR = 5
    times = [confirmation_send_at(email=f"x{i}@{domain}.example", now=START)
             for i in range(10) for domain in ("a", "b")]
    per_hour = Counter(t.replace(minute=0) for t in times)
    assert max(per_hour.values()) <= 5 and len(per_hour) == 4
    per_domain_hour = Counter((i % 2, t.replace(minute=0)) for i, t in enumerate(times))
    assert max(per_domain_hour.values()) <= 3
