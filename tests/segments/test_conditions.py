"""Every kind of segment condition, with readers inside and outside it; then all vs any, and the schema's refusals.

Runs on SQLite and PostgreSQL alike: the segment is one ORM queryset (EXISTS subqueries), nothing vendor-specific.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from emails.models import Click
from emails.segments.models import Segment
from emails.segments.selectors import segment_count
from leads.models import Lead
from leads.services import lead_make_customer, lead_pause, lead_revoke_access, lead_suppress, lead_unsubscribe
from tests.segments.conftest import human_click, make_segment, names, reader, sent, tag

pytestmark = pytest.mark.django_db


def test_status_conditions() -> None:
    reader("sub")
    reader("pending", status=Lead.Status.PENDING, confirmed_at=None)
    lead_pause(lead=reader("paused"), days=3)
    lead_unsubscribe(lead=reader("gone"))
    lead_suppress(lead=reader("bounced"), reason=Lead.Suppression.HARD_BOUNCE)
    reader("erased", email=None, status=Lead.Status.ERASED)  # never in any segment
    reader("silent", inactive_since=timezone.now())  # the sunset stopped their marketing mail (emails/sunset.py)

    def who(value: str) -> set[str]:
        return names(make_segment([{"kind": "status", "value": value}], name=value))

    assert who("subscribed") == {"sub", "paused", "bounced", "silent"}
    assert who("pending") == {"pending"}
    assert who("confirmed") == {"sub", "paused", "gone", "bounced", "silent"}
    assert who("paused") == {"paused"}
    assert who("inactive") == {"silent"}
    assert who("unsubscribed") == {"gone"}
    assert who("suppressed") == {"bounced"}


def test_paused_is_read_at_the_moment_asked() -> None:
    lead_pause(lead=reader("paused"), days=3)
    segment = make_segment([{"kind": "status", "value": "paused"}])
    assert names(segment) == {"paused"}
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert names(segment) == set()


def test_purchase_conditions() -> None:
    reader("never")
    lead_make_customer(lead=reader("buyer"))
    refunded = reader("refunded")
    lead_make_customer(lead=refunded)
    lead_revoke_access(lead=refunded)

    def who(value: str) -> set[str]:
        return names(make_segment([{"kind": "purchase", "value": value}], name=value))

    assert who("bought") == {"buyer"}
    assert who("not_bought") == {"never"}
    assert who("refunded") == {"refunded"}


def test_tag_conditions() -> None:
    tag(reader("keen"), "interested")
    tag(reader("other"), "vip")
    reader("none")
    assert names(make_segment([{"kind": "has_tag", "tag": "interested"}], name="has")) == {"keen"}
    assert names(make_segment([{"kind": "lacks_tag", "tag": "interested"}], name="lacks")) == {"other", "none"}
    # A tag nobody has yet is a valid condition (the link that adds it may not have been clicked yet).
    assert names(make_segment([{"kind": "has_tag", "tag": "later"}], name="later")) == set()


@pytest.mark.parametrize("field", ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"])
def test_utm_conditions(field: str) -> None:
    reader("match", **{field: "spring"})
    reader("other", **{field: "autumn"})
    reader("direct")
    assert names(make_segment([{"kind": field, "value": "spring"}])) == {"match"}
    assert names(make_segment([{"kind": field, "value": ""}], name="direct")) == {"direct"}


def test_signup_date_range_is_inclusive_in_utc_days() -> None:
    reader("before", created_at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))
    reader("first", created_at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    reader("last", created_at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    reader("after", created_at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
    march = make_segment([{"kind": "signup_date", "after": "2026-03-01", "before": "2026-03-31"}], name="march")
    assert names(march) == {"first", "last"}
    from_april = make_segment([{"kind": "signup_date", "after": "2026-04-01", "before": None}], name="april")
    assert names(from_april) == {"after"}
    until_feb = make_segment([{"kind": "signup_date", "after": None, "before": "2026-02-28"}], name="feb")
    assert names(until_feb) == {"before"}


def test_sequence_conditions() -> None:
    now = timezone.now()
    day3 = reader("day3")
    for step in ("welcome", "day-1", "day-2", "day-3"):
        sent(day3, step, now)
    week = reader("week")
    for step in ("welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"):
        sent(week, step, now)
    waiting = reader("waiting")
    sent(waiting, "welcome", now)
    # Scheduled but not sent yet: not reached.
    from emails.models import ScheduledEmail
    ScheduledEmail.objects.create(lead=waiting, step="day-3", send_at=now + timedelta(days=2))

    assert names(make_segment([{"kind": "sequence", "value": "day-3"}], name="d3")) == {"day3", "week"}
    assert names(make_segment([{"kind": "sequence", "value": "finished"}], name="fin")) == {"week"}


def test_clicked_within_counts_human_clicks_only() -> None:
    start = timezone.now()
    old, recent, scanner = reader("old"), reader("recent"), reader("scanner")
    with time_machine.travel(start - timedelta(days=20)):
        human_click(old)
    with time_machine.travel(start - timedelta(days=2)):
        human_click(recent)
    from emails.services import click_record
    click = click_record(lead_id=scanner.pk, row_id=None, target=Click.Target.FREE_GUIDE, method="HEAD")
    assert click is not None and click.machine
    reader("never")
    assert names(make_segment([{"kind": "clicked_within", "days": 14}])) == {"recent"}
    assert names(make_segment([{"kind": "clicked_within", "days": 30}], name="30")) == {"old", "recent"}


def test_no_click_in_the_last_n_emails() -> None:
    start = timezone.now() - timedelta(days=10)
    silent, woke, early, late, new = reader("silent"), reader("woke"), reader("early"), reader("late"), reader("new")
    rows = {}
    sent(new, "welcome", start)
    # In the order it happened: the emails (through the real dispatcher) and the readers' clicks between them.
    for day, step in enumerate(("welcome", "day-1", "day-2", "day-3")):
        for who in (silent, woke, early, late):
            rows[who.first_name.lower(), step] = sent(who, step, start + timedelta(days=day))
        if step == "welcome":
            with time_machine.travel(start + timedelta(hours=12)):
                human_click(early, rows["early", "welcome"])  # then three emails without a click
    with time_machine.travel(start + timedelta(days=5)):
        human_click(woke, rows["woke", "day-3"])  # clicked the newest email
        human_click(late, rows["late", "welcome"])  # an old email's link, but after all four were sent
    # A scanner's click is no sign of life.
    from emails.services import click_record
    click_record(lead_id=silent.pk, row_id=rows["silent", "day-3"].pk, target=Click.Target.FREE_GUIDE, method="HEAD")
    # "new" received one email: too few to call them silent for 3.
    assert names(make_segment([{"kind": "no_click_in_last", "emails": 3}])) == {"silent", "early"}
    assert names(make_segment([{"kind": "no_click_in_last", "emails": 4}], name="4")) == {"silent"}
    assert names(make_segment([{"kind": "no_click_in_last", "emails": 1}], name="1")) == {"silent", "early", "new"}


def test_time_zone_condition() -> None:
    reader("berlin", time_zone="Europe/Berlin")
    reader("ny", time_zone="America/New_York")
    assert names(make_segment([{"kind": "time_zone", "value": "Europe/Berlin"}])) == {"berlin"}


def test_all_versus_any() -> None:
    buyer_keen = reader("buyerkeen")
    lead_make_customer(lead=buyer_keen)
    tag(buyer_keen, "interested")
    tag(reader("keen"), "interested")
    lead_make_customer(lead=reader("buyer"))
    reader("neither")
    conditions = [{"kind": "purchase", "value": "not_bought"}, {"kind": "has_tag", "tag": "interested"}]
    assert names(make_segment(conditions, Segment.Match.ALL, name="all")) == {"keen"}
    assert names(make_segment(conditions, Segment.Match.ANY, name="any")) == {"buyerkeen", "keen", "neither"}


def test_no_conditions_is_every_reader_but_the_erased() -> None:
    reader("one")
    reader("two", status=Lead.Status.UNSUBSCRIBED)
    reader("erased", email=None, status=Lead.Status.ERASED)
    for match in Segment.Match.values:
        segment = make_segment([], match, name=match)
        assert names(segment) == {"one", "two"}
        assert segment_count(segment) == 2


@pytest.mark.parametrize("condition, words", [
    ({"kind": "status", "value": "asleep"}, "choose one of"),
    ({"kind": "purchase"}, "choose one of"),
    ({"kind": "has_tag", "tag": "Two Words"}, "is not a tag name"),
    ({"kind": "signup_date", "after": "2026-13-01"}, "must be a date"),
    ({"kind": "signup_date", "after": "2026-03-02", "before": "2026-03-01"}, "comes after"),
    ({"kind": "signup_date"}, "give a first day"),
    ({"kind": "clicked_within", "days": 0}, "whole number"),
    ({"kind": "clicked_within", "days": "14"}, "whole number"),
    ({"kind": "no_click_in_last", "emails": 101}, "whole number"),
    ({"kind": "time_zone", "value": "Mars/Olympus"}, "not an IANA time zone"),
    ({"kind": "utm_source", "value": "x" * 101}, "at most 100"),
    ({"kind": "drop table"}, "unknown condition"),
    ("status", "unknown condition"),
])
def test_the_schema_refuses_a_wrong_condition(condition: Any, words: str) -> None:
    with pytest.raises(ValidationError) as error:
        make_segment([{"kind": "status", "value": "subscribed"}, condition])
    assert any(message.startswith("Condition 2: ") and words in message for message in error.value.messages)
    assert not Segment.objects.exists()


def test_saved_conditions_are_canonical() -> None:
    segment = make_segment([{"kind": "has_tag", "tag": " Interested "},
                            {"kind": "signup_date", "after": "2026-03-01", "before": "", "extra": "dropped"}])
    segment.refresh_from_db()
    assert segment.conditions == [{"kind": "has_tag", "tag": "interested"},
                                  {"kind": "signup_date", "after": "2026-03-01", "before": None}]
    assert segment.describe() == "has tag “interested” AND signed up on or after 2026-03-01 (UTC)"
