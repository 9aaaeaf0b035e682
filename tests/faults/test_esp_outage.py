"""The ESP (Postmark's HTTP API, faked locally; the real anymail backend, batches of messages) answers 500 and 429
for a while, and holds one address inactive: the others are retried with growing waits and each is accepted exactly
once; the inactive one is refused alone (its reader suppressed) and does not hold up the rest."""

import collections
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from emails.services import sequence_enrol
from leads.models import Lead
from tests.drip.fake_esp import FakePostmark, point_anymail_at

pytestmark = [pytest.mark.faults, pytest.mark.django_db]
Status = ScheduledEmail.Status
REFUSED = "no-such-mailbox@example.com"


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        settings.DRIP_KICK_ON_QUEUE = False
        yield fake


def test_outage_then_recovery_sends_each_once_and_the_refused_address_fails_alone(esp: FakePostmark) -> None:
    emails = [f"reader{i}@example.com" for i in range(7)] + [REFUSED]
    for address in emails:
        sequence_enrol(lead=Lead.objects.create(email=address, first_name="Kim", status=Lead.Status.SUBSCRIBED))
    welcomes = ScheduledEmail.objects.filter(step="welcome")
    esp.inactive.add(REFUSED)
    # Every batch request fails for a while, then the ESP recovers.
    esp.script.extend([(500, {}), (429, {}), (503, {}), (500, {})])

    now = timezone.now()
    waits: dict[int, list[timedelta]] = collections.defaultdict(list)
    for _ in range(8):  # beat, at each row's next due time
        dispatch_batch(now=now)
        written = timezone.now()  # the dispatcher dates a retry from the wall clock when it records the failure
        for row in welcomes.filter(status=Status.SCHEDULED, attempts__gt=0):
            if len(waits[row.pk]) < row.attempts:
                waits[row.pk].append(row.send_at - written)
        due = welcomes.filter(status=Status.SCHEDULED).order_by("send_at").first()
        if due is None:
            break
        now = due.send_at

    refused = welcomes.get(lead__email=REFUSED)
    assert refused.status == Status.SKIPPED and refused.skip_reason == Lead.Suppression.HARD_BOUNCE
    assert refused.lead.suppression == Lead.Suppression.HARD_BOUNCE, "no more mail to an address the ESP refuses"
    # Retried rows waited longer each time (exponential backoff).
    assert any(len(w) >= 2 for w in waits.values())
    for w in waits.values():
        assert all(later > earlier for earlier, later in zip(w, w[1:], strict=False)), w

    accepted = collections.Counter(m["To"] for m in esp.accepted)
    assert accepted == {address: 1 for address in emails if address != REFUSED}, "each accepted exactly once"
    assert set(welcomes.exclude(pk=refused.pk).values_list("status", flat=True)) == {Status.SENT}
    assert esp.requests == 5, "four refused batch requests, then one that went through"
