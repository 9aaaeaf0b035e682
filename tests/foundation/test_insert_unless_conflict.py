"""The one-statement inserts (leads/db.py), directly, on whichever database the run uses.

CI runs this file twice: on PostgreSQL (`make test` with DATABASE_URL) and on SQLite (the embedded default's
pass). SQLite once parsed the INSERT … SELECT form as a join (`near "DO": syntax error`), which made every
sign-in request a 500 on `make run`; nothing but PostgreSQL had run it.
"""

import json

import pytest
from django.utils import timezone

from emails.models import ScheduledEmail
from funnel.models import StripeEvent
from leads.db import insert_for_each_unless_conflict, insert_unless_conflict
from leads.models import Lead

pytestmark = pytest.mark.django_db


def _lead(email: str) -> Lead:
    return Lead.objects.create(email=email, first_name="Reader", status=Lead.Status.SUBSCRIBED,
                               time_zone="America/New_York")


def _event(event_id: str) -> StripeEvent:
    now = timezone.now()
    return StripeEvent(event_id=event_id, event_type="checkout.session.completed", payload={"id": event_id},
                       status=StripeEvent.Status.RECEIVED, received_at=now)


def test_insert_unless_conflict_inserts_once_and_reports_the_duplicate() -> None:
    first = _event("evt_once")
    assert insert_unless_conflict(first) is True
    assert first.pk is not None and not first._state.adding
    again = _event("evt_once")
    assert insert_unless_conflict(again) is False
    assert again.pk is None
    assert StripeEvent.objects.filter(event_id="evt_once").count() == 1


def test_insert_unless_conflict_stores_json_text_as_given_and_reads_back_the_same_value() -> None:
    body = '{"id": "evt_text", "data": {"object": {"amount_total": 997, "currency": "usd"}}}'
    row = _event("evt_text")
    assert insert_unless_conflict(row, json_text={"payload": body}) is True
    assert StripeEvent.objects.get(pk=row.pk).payload == json.loads(body)


def test_insert_unless_conflict_refuses_a_json_text_for_a_field_the_model_lacks() -> None:
    with pytest.raises(ValueError, match="no field"):
        insert_unless_conflict(_event("evt_bad"), json_text={"nonsense": "{}"})
    assert not StripeEvent.objects.filter(event_id="evt_bad").exists()


def test_insert_for_each_inserts_one_row_per_source_row_and_none_again() -> None:
    readers = [_lead("one@example.com"), _lead("two@example.com")]
    _lead("other@example.com")
    fk = ScheduledEmail._meta.get_field("lead").column

    def template() -> ScheduledEmail:
        return ScheduledEmail(step="signin", key="k1", stream=ScheduledEmail.Stream.TRANSACTIONAL, context={},
                              send_at=timezone.now())

    source = Lead.objects.filter(email__in=["one@example.com", "two@example.com"])
    assert insert_for_each_unless_conflict(template(), fk_column=fk, source=source) == 2
    assert insert_for_each_unless_conflict(template(), fk_column=fk, source=source) == 0
    assert sorted(ScheduledEmail.objects.filter(step="signin").values_list("lead_id", flat=True)) == sorted(
        r.pk for r in readers)


def test_insert_for_each_with_an_empty_source_inserts_nothing() -> None:
    fk = ScheduledEmail._meta.get_field("lead").column
    row = ScheduledEmail(step="signin", key="k2", stream=ScheduledEmail.Stream.TRANSACTIONAL, context={},
                         send_at=timezone.now())
    assert insert_for_each_unless_conflict(row, fk_column=fk, source=Lead.objects.filter(email="nobody@x.test")) == 0
    assert not ScheduledEmail.objects.exists()


def test_insert_for_each_refuses_a_column_the_model_lacks() -> None:
    row = ScheduledEmail(step="signin", key="k3", send_at=timezone.now())
    with pytest.raises(ValueError, match="no column"):
        insert_for_each_unless_conflict(row, fk_column="nonsense_id", source=Lead.objects.all())


def test_insert_for_each_takes_a_column_per_row_from_the_source() -> None:
    """A broadcast at each reader's local hour: send_at chosen per row by the reader's zone, in the one statement."""
    from datetime import UTC, datetime

    from django.db.models import Case, DateTimeField, Value, When

    berlin, new_york = _lead("berlin@example.com"), _lead("ny@example.com")
    Lead.objects.filter(pk=berlin.pk).update(time_zone="Europe/Berlin")
    at = {"Europe/Berlin": datetime(2026, 6, 3, 7, tzinfo=UTC),
          "America/New_York": datetime(2026, 6, 3, 13, tzinfo=UTC)}
    send_at = Case(*[When(time_zone=zone, then=Value(moment)) for zone, moment in at.items()],
                   default=Value(datetime(2026, 6, 3, 9, tzinfo=UTC)), output_field=DateTimeField())
    row = ScheduledEmail(step="broadcast-1", send_at=timezone.now())
    fk = ScheduledEmail._meta.get_field("lead").column
    assert insert_for_each_unless_conflict(row, fk_column=fk, source=Lead.objects.all(),
                                           per_row={"send_at": send_at}) == 2
    made = dict(ScheduledEmail.objects.values_list("lead_id", "send_at"))
    assert made == {berlin.pk: at["Europe/Berlin"], new_york.pk: at["America/New_York"]}
    with pytest.raises(ValueError, match="no column"):
        insert_for_each_unless_conflict(row, fk_column=fk, source=Lead.objects.all(), per_row={"nonsense": send_at})
