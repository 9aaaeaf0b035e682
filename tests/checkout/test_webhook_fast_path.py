"""The webhook verifies, stores once and answers; a real Celery worker fulfils, never inside a transaction.

A body Stripe signed but we cannot store as an event is a 400 with nothing stored: a 500 would make Stripe
retry it for three days.
"""

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.celery import app
from emails.models import ScheduledEmail
from funnel.checkout.events import (
    LEASE_SECONDS,
    MAX_AUTOMATIC_ATTEMPTS,
    stripe_event_process,
    stripe_event_record,
    stripe_events_sweep,
)
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, Purchase, StripeEvent
from leads.models import Lead
from tests.checkout.conftest import event_deliver, event_make, event_post, lead_make
from tests.conftest import database_url_for_subprocess, wait_until

DEEP = 100_000


def _event_text(*, event_id: str = '"evt_bad"', event_type: str = '"checkout.session.completed"',
                created: str = "1767225600", data: str = '{"object": OBJECT}',
                obj: str = '{"id": "cs_test_1", "object": "checkout.session"}') -> str:
    """An event's JSON text with each part given as raw JSON, so any part can be something json.dumps never
    writes (NaN, 1e400, a 400-digit integer …)."""
    return (f'{{"id": {event_id}, "object": "event", "type": {event_type}, "created": {created}, '
            f'"livemode": false, "data": {data}}}').replace("OBJECT", obj)


MALFORMED: dict[str, str | bytes] = {
    "NaN": _event_text(obj='{"id": "cs_test_1", "amount_total": NaN}'),
    "Infinity": _event_text(obj='{"id": "cs_test_1", "amount_total": Infinity}'),
    "-Infinity": _event_text(obj='{"id": "cs_test_1", "amount_total": -Infinity}'),
    "float that overflows to inf": _event_text(obj='{"id": "cs_test_1", "amount_total": 1e400}'),
    "integer beyond 64 bits": _event_text(obj='{"id": "cs_test_1", "amount_total": 18446744073709551616}'),
    "400-digit integer": _event_text(obj='{"id": "cs_test_1", "amount_total": 1' + "0" * 400 + "}"),
    "created 1e20": _event_text(created="1e20"),
    "created 10**20": _event_text(created=str(10**20)),
    "created 10**400": _event_text(created="1" + "0" * 400),
    "created before 1970": _event_text(created="-1"),
    "created a string": _event_text(created='"yesterday"'),
    "nested 100,000 deep": _event_text(obj='{"id": "cs_test_1", "metadata": ' + "[" * DEEP + "]" * DEEP + "}"),
    # 50,000 levels of objects: deeper than Python's recursion limit, smaller than the 512 KB size limit.
    "nested 50,000 deep objects": _event_text(obj='{"id": "cs_test_1", "m": ' + '{"":' * 50_000 + "1"
                                              + "}" * 50_000 + "}"),
    "nested 40 deep": _event_text(obj='{"id": "cs_test_1", "metadata": ' + "[" * 40 + "]" * 40 + "}"),
    "a JSON array": "[]",
    "a JSON string": '"evt_1"',
    "a JSON number": "42",
    "JSON null": "null",
    "not JSON": "event: paid",
    "cut short": _event_text()[:40],
    "no id": _event_text().replace('"id": "evt_bad", ', ""),
    "numeric id": _event_text(event_id="42"),
    "empty id": _event_text(event_id='""'),
    "id over 255 characters": _event_text(event_id=json.dumps("evt_" + "x" * 252)),
    "no type": _event_text().replace('"type": "checkout.session.completed", ', ""),
    "type null": _event_text(event_type="null"),
    "no data": _event_text(data="{}"),
    "data a list": _event_text(data="[]"),
    "data.object a string": _event_text(obj='"cs_test_1"'),
    "NUL in a string": _event_text(obj='{"id": "cs_test_1", "customer_email": "a\\u0000b@example.com"}'),
    "NUL in a key": _event_text(obj='{"id": "cs_test_1", "a\\u0000": 1}'),
    "unpaired surrogate": _event_text(obj='{"id": "cs_test_1", "customer_email": "\\ud800@example.com"}'),
    "not UTF-8": _event_text(obj='{"id": "cs_test_1", "customer_email": "XX"}').encode().replace(b"XX", b"\xff"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_signed_body_that_is_no_storable_event_is_400_and_nothing_is_stored(client, case):
    body = MALFORMED[case]
    response = event_post(client, body if isinstance(body, bytes) else body.encode())
    assert response.status_code == 400, response.content
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_escaped_unicode_that_postgresql_can_store_is_accepted(client):
    # A surrogate pair is one character (an emoji); only an unpaired half is refused.
    body = _event_text(event_type='"customer.created"', obj='{"id": "cus_1", "name": "Ana \\ud83d\\ude00 \\u00e9"}')
    assert event_post(client, body.encode()).status_code == 200
    assert StripeEvent.objects.get().payload["data"]["object"]["name"] == "Ana \U0001f600 é"


def _paid_session(client: Client, fake_stripe: Any, lead: Lead) -> str:
    assert client.post(f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=None)}/").status_code == 303
    session_id = CheckoutSession.objects.get(lead=lead).stripe_session_id
    fake_stripe.complete(session_id)
    return session_id


@pytest.mark.django_db
def test_the_webhook_stores_and_answers_without_calling_stripe(client, fake_stripe, lead):
    session_id = _paid_session(client, fake_stripe, lead)
    calls_before = len(fake_stripe.requests)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_fast")

    assert event_post(Client(), event).status_code == 200
    assert event_post(Client(), event).status_code == 200  # a duplicate: the same one row

    assert len(fake_stripe.requests) == calls_before  # nothing asked of Stripe while Stripe waited for us
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == (StripeEvent.Status.RECEIVED, 0)
    assert not Purchase.objects.exists()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fulfils_the_stored_event_with_no_transaction_open_during_stripe_calls(
        client, fake_stripe, celery_worker_process, settings):
    lead = lead_make()
    session_id = _paid_session(client, fake_stripe, lead)
    fake_stripe.watch_transactions(database_url_for_subprocess())
    celery_worker_process.env.update(STRIPE_SECRET_KEY=settings.STRIPE_SECRET_KEY, STRIPE_API_BASE=fake_stripe.url,
                                     DRIP_KICK_ON_QUEUE="false")
    celery_worker_process.start()
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_worker")

    assert event_post(Client(), event).status_code == 200

    wait_until(lambda: StripeEvent.objects.filter(status=StripeEvent.Status.PROCESSED).exists(), timeout=30,
               what=f"the worker to process the event; worker log:\n{celery_worker_process.log()[-2000:]}")
    assert Purchase.objects.get().status == Purchase.Status.PAID
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    lookups = fake_stripe.requests_to("GET", f"/v1/checkout/sessions/{session_id}")
    assert lookups, "the worker read the session back from Stripe"
    assert [r.transactions_open for r in lookups] == [[]] * len(lookups)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_stripe_call_is_made_inside_a_database_transaction(client, fake_stripe, settings):
    """Every path that calls Stripe: the webhook's task (fulfilment, a dispute naming only its charge), the
    sweep retrying a failure, the admin's reprocess, the success page and `stripe_reconcile`. While the fake
    Stripe serves each call, no session of the test database may be inside a transaction."""
    fake_stripe.watch_transactions(database_url_for_subprocess())
    hook, swept, admin_lead, browser_buyer, missed = (
        lead_make(f"{n}@example.com") for n in ("hook", "swept", "admin", "browser", "missed"))

    hook_session = _paid_session(Client(), fake_stripe, hook)
    event_deliver(Client(), event_make("checkout.session.completed", dict(fake_stripe.sessions[hook_session])))
    charge = fake_stripe.charge_for(hook_session)
    dispute = {"id": "dp_1", "object": "dispute", "charge": charge["id"], "payment_intent": None,
               "amount": 997, "currency": "usd", "livemode": False, "metadata": {}, "status": "needs_response"}
    event_deliver(Client(), event_make("charge.dispute.created", dispute))

    # Two events whose first attempt fails (Stripe does not know the session yet): the sweep retries one after
    # its backoff, staff reprocess the other from the admin.
    failing = {}
    for lead, event_id in ((swept, "evt_swept"), (admin_lead, "evt_admin")):
        session_id = _paid_session(Client(), fake_stripe, lead)
        failing[session_id] = fake_stripe.sessions.pop(session_id)
        event_deliver(Client(), event_make("checkout.session.completed", failing[session_id], event_id=event_id))
    assert StripeEvent.objects.filter(status=StripeEvent.Status.FAILED).count() == 2
    fake_stripe.sessions.update(failing)
    staff = User.objects.create_superuser("staff", "staff@example.com", "pw")
    admin = Client()
    admin.force_login(staff)
    pk = StripeEvent.objects.get(event_id="evt_admin").pk
    admin.post(reverse("admin:funnel_stripeevent_changelist"), {"action": "reprocess", "_selected_action": [pk]})
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert stripe_events_sweep() == {StripeEvent.Status.PROCESSED: 1}

    browser_session = _paid_session(client, fake_stripe, browser_buyer)
    assert client.get(f"/checkout/success/?session_id={browser_session}").status_code == 200

    missed_session = fake_stripe.session_create_direct(metadata={"lead": str(missed.pk)})
    fake_stripe.complete(missed_session["id"])
    call_command("stripe_reconcile", "--since", "1d", stdout=StringIO())

    assert dict(Purchase.objects.values_list("lead__email", "status")) == {
        "hook@example.com": Purchase.Status.DISPUTED, "swept@example.com": Purchase.Status.PAID,
        "admin@example.com": Purchase.Status.PAID, "browser@example.com": Purchase.Status.PAID,
        "missed@example.com": Purchase.Status.PAID}
    assert fake_stripe.requests_to("GET", f"/v1/charges/{charge['id']}")
    reads = [r for r in fake_stripe.requests if r.method == "GET"]
    assert len(reads) >= 8
    assert {f"{r.method} {r.path}": r.transactions_open for r in reads if r.transactions_open} == {}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beats_sweep_entry_fulfils_in_a_real_worker_an_event_whose_task_never_came(
        client, fake_stripe, celery_worker_process, settings):
    lead = lead_make()
    session_id = _paid_session(client, fake_stripe, lead)
    # Stored a minute ago by a web process whose broker was down: no task was ever queued for it.
    with time_machine.travel(timezone.now() - timedelta(minutes=1)):
        assert stripe_event_record(payload=event_make("checkout.session.completed",
                                                      dict(fake_stripe.sessions[session_id])))
    celery_worker_process.env.update(STRIPE_SECRET_KEY=settings.STRIPE_SECRET_KEY, STRIPE_API_BASE=fake_stripe.url,
                                     DRIP_KICK_ON_QUEUE="false")
    celery_worker_process.start()

    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "funnel.tasks.sweep_stripe_events"]
    assert entry["schedule"] <= 60
    app.send_task(entry["task"])

    # The purchase row commits before the event's outcome is written: wait for the outcome itself.
    wait_until(lambda: StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED, timeout=30,
               what=f"the sweep to process the event; worker log:\n{celery_worker_process.log()[-2000:]}")
    assert Purchase.objects.get(lead=lead).status == Purchase.Status.PAID


def _stored(fake_stripe: Any, lead: Lead, client: Client, event_id: str) -> StripeEvent:
    session_id = _paid_session(client, fake_stripe, lead)
    stripe_event_record(payload=event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]),
                                           event_id=event_id))
    return StripeEvent.objects.get(event_id=event_id)


@pytest.mark.django_db
def test_an_event_claimed_by_a_worker_that_died_is_taken_up_again_when_its_lease_runs_out(
        client, fake_stripe, lead):
    claimed_at = timezone.now()
    event = _stored(fake_stripe, lead, client, "evt_orphan")
    # A worker claimed it, then was killed before recording any outcome.
    event.status, event.attempts = StripeEvent.Status.PROCESSING, 1
    event.retry_at = claimed_at + timedelta(seconds=LEASE_SECONDS)
    event.save(update_fields=["status", "attempts", "retry_at"])

    with time_machine.travel(claimed_at + timedelta(seconds=LEASE_SECONDS - 1), tick=False):
        assert stripe_event_process(event_id="evt_orphan") is None  # still another worker's
        assert stripe_events_sweep() == {}
    with time_machine.travel(claimed_at + timedelta(seconds=LEASE_SECONDS + 1), tick=False):
        assert stripe_events_sweep() == {StripeEvent.Status.PROCESSED: 1}
    event.refresh_from_db()
    assert (event.status, event.attempts) == (StripeEvent.Status.PROCESSED, 2)
    assert Purchase.objects.get().lead == lead


@pytest.mark.django_db
def test_automatic_retries_stop_after_the_last_attempt_and_staff_can_still_reprocess(client, fake_stripe, lead):
    failed_at = timezone.now()
    event = _stored(fake_stripe, lead, client, "evt_given_up")
    event.status, event.attempts, event.retry_at = StripeEvent.Status.FAILED, MAX_AUTOMATIC_ATTEMPTS, failed_at
    event.save(update_fields=["status", "attempts", "retry_at"])

    with time_machine.travel(failed_at + timedelta(days=1)):
        assert stripe_events_sweep() == {}
    assert stripe_event_process(event_id="evt_given_up") == StripeEvent.Status.PROCESSED  # the admin's button
    assert Purchase.objects.get().lead == lead


@pytest.mark.django_db
def test_a_received_event_is_left_to_its_task_for_the_grace_period(client, fake_stripe, lead):
    received_at = timezone.now()
    with time_machine.travel(received_at, tick=False):
        _stored(fake_stripe, lead, client, "evt_young")
    with time_machine.travel(received_at + timedelta(seconds=10), tick=False):
        assert stripe_events_sweep() == {}
    with time_machine.travel(received_at + timedelta(seconds=31), tick=False):
        assert stripe_events_sweep() == {StripeEvent.Status.PROCESSED: 1}


@pytest.mark.django_db
def test_an_event_stored_from_stripes_text_is_the_event_stored_from_its_parsed_payload():
    """The webhook stores the body's own text (no re-encoding on the hot path); the plain call encodes the dict.
    Both must leave the same row."""
    def stored(event_id: str, *, as_text: bool) -> dict[str, Any]:
        event = event_make("checkout.session.completed", {"id": "cs_1", "object": "checkout.session",
                                                          "amount_total": 997, "name": "Zoë \U0001f600",
                                                          "rate": 0.25, "metadata": {"lead": "7"}},
                           event_id=event_id)
        event["created"] = 1767225600  # both the same instant, whatever the clock does between them
        text = json.dumps(event, ensure_ascii=False, indent=1)
        assert stripe_event_record(payload=event, body=text if as_text else None)
        row = StripeEvent.objects.filter(event_id=event_id).values().get()
        return {k: v for k, v in row.items() if k not in ("id", "event_id", "received_at")} | {
            "payload": {k: v for k, v in row["payload"].items() if k != "id"}}

    assert stored("evt_text", as_text=True) == stored("evt_dict", as_text=False)
    assert StripeEvent.objects.get(event_id="evt_text").payload["data"]["object"]["name"] == "Zoë \U0001f600"
