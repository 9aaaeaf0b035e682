"""The ESP (Postmark's HTTP API, faked locally; the real anymail backend) answers 500, 429 and times out for a
while, and refuses one address for good: the others are retried with growing waits and each is accepted exactly
once; the refused one fails with the ESP's reason and does not hold up the rest."""

import base64
import collections
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from emails.services import sequence_enrol
from leads.models import Lead
from tests.conftest import wait_until
from tests.drip.fake_esp import FakePostmark, point_anymail_at

pytestmark = [pytest.mark.faults, pytest.mark.django_db]
Status = ScheduledEmail.Status
REFUSED = "no-such-mailbox@example.com"


class Outage:
    """FakePostmark's script: one address is always refused (400); the others meet the outage in order."""

    def __init__(self, fake: FakePostmark, outage: list[Any]) -> None:
        self.fake = fake
        self.outage = collections.deque(outage)

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> Any:
        if self.fake.received[-1]["To"] == REFUSED:
            return 400, {"ErrorCode": 406,
                         "Message": "You tried to send to a recipient that has been marked as inactive."}
        return self.outage.popleft() if self.outage else (200, {})


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
    # Two rounds of outage: every request in the first batch fails, most in the second, then it recovers.
    esp.script = Outage(esp, [(500, {}), (429, {}), "hang", (503, {}), (429, {}), (500, {}), (500, {}),
                              (429, {}), (500, {}), (503, {})])  # type: ignore[assignment]

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
    assert refused.status == Status.FAILED and "406" in refused.last_error and "inactive" in refused.last_error
    assert refused.attempts == 1, "a permanent refusal is not retried"
    # Retried rows waited longer each time (exponential backoff).
    assert any(len(w) >= 2 for w in waits.values())
    for w in waits.values():
        assert all(later > earlier for earlier, later in zip(w, w[1:], strict=False)), w

    # The request that timed out had in fact reached the ESP: its row is `unknown`, never resent blindly, and
    # Postmark's delivery webhook (through anymail's real tracking view) settles it.
    unknown = list(welcomes.filter(status=Status.UNKNOWN))
    assert len(unknown) == 1
    hung = wait_until(lambda: next((m for m in esp.accepted if m["Metadata"]["row_id"] == str(unknown[0].pk)),
                                   None), timeout=10, what="the ESP to finish the request that timed out")
    auth = "Basic " + base64.b64encode(b"tracking:test-secret").decode()
    answer = Client().post("/anymail/postmark/tracking/", json.dumps({
        "RecordType": "Delivery", "MessageID": hung["MessageID"], "Recipient": hung["To"], "Tag": "welcome",
        "DeliveredAt": "2026-03-05T14:00:01Z", "Details": "ok", "Metadata": hung["Metadata"]}),
        content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert answer.status_code == 200

    accepted = collections.Counter(m["To"] for m in esp.accepted)
    assert accepted == {address: 1 for address in emails if address != REFUSED}, "each accepted exactly once"
    assert set(welcomes.exclude(pk=refused.pk).values_list("status", flat=True)) == {Status.SENT}
    assert len(esp.received) > len(esp.accepted) + 1, "the outage really refused requests"
