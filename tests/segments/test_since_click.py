"""Lead.marketing_since_click (emails/engagement.py): raised by the real dispatcher as marketing rows are sent, reset
by a person's click and never by a scanner's, and the segment "no human click in the last N emails" read from it
answers what the old definition (an anti-join of sent rows and human clicks, kept below as the reference) answered.

Runs on SQLite and PostgreSQL alike (the PostgreSQL dispatcher raises the count inside its mark-sent statement).
"""

import importlib
import random
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from emails import dispatch, outcomes
from emails.dispatch import dispatch_batch
from emails.engagement import since_click_recount
from emails.models import Click, ScheduledEmail
from emails.segments.selectors import segment_leads
from emails.services import click_record
from leads.models import Lead
from tests.segments.conftest import human_click, make_segment, reader, sent

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh) Safari/605"
SCANNER = "Mozilla/5.0 (compatible; Microsoft Office SafeLinks)"


def count(lead: Lead) -> int:
    return Lead.objects.values_list("marketing_since_click", flat=True).get(pk=lead.pk)


def old_no_click_in_last(emails: int) -> set[int]:
    """The definition segments computed before the count existed: sent marketing rows with no human click at or
    after their sending, per lead, at least `emails` of them."""
    unclicked = ScheduledEmail.objects.filter(stream=ScheduledEmail.Stream.MARKETING,
                                              status=ScheduledEmail.Status.SENT).exclude(
        Exists(Click.objects.filter(lead=OuterRef("lead"), machine=Click.Machine.HUMAN,
                                    created_at__gte=OuterRef("sent_at"))))
    silent = unclicked.values("lead").annotate(n=Count("pk")).filter(n__gte=emails)
    return set(Lead.objects.filter(Q(pk__in=silent.values("lead"))).values_list("pk", flat=True))


def sent_together(steps_by_lead: dict[Lead, list[str]], at: datetime) -> None:
    """One batch of the real dispatcher sending several rows at once (a lead may have two in one chunk)."""
    for lead, steps in steps_by_lead.items():
        for step in steps:
            ScheduledEmail.objects.create(lead=lead, step=step, send_at=at)
    with time_machine.travel(at, tick=False):
        done = dispatch_batch()
    assert len(done.sent) == sum(len(steps) for steps in steps_by_lead.values()), done


def test_the_count_follows_sends_and_human_clicks_and_ignores_scanners() -> None:
    start = timezone.now() - timedelta(days=10)
    lead, other = reader("lead"), reader("other")
    sent_together({lead: ["welcome", "day-1"], other: ["welcome"]}, start)  # two of lead's in one chunk
    assert (count(lead), count(other)) == (2, 1)

    row = ScheduledEmail.objects.get(lead=lead, step="day-1")
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        for agent, method in ((SCANNER, "GET"), (BROWSER, "HEAD"), ("", "GET")):
            click = click_record(lead_id=lead.pk, row_id=row.pk, target=Click.Target.FREE_GUIDE, method=method,
                                 user_agent=agent)
            assert click is not None and click.machine != Click.Machine.HUMAN
    assert count(lead) == 2  # machines are no sign of life

    with time_machine.travel(start + timedelta(hours=3), tick=False):
        human_click(lead, row)
    assert (count(lead), count(other)) == (0, 1)

    sent(lead, "day-2", start + timedelta(days=1))
    assert count(lead) == 1
    # Transactional mail is not marketing: a sign-in link or a receipt counts for nothing.
    ScheduledEmail.objects.create(lead=lead, step="signin", key="k1", stream=ScheduledEmail.Stream.TRANSACTIONAL,
                                  send_at=start + timedelta(days=1, hours=1))
    with time_machine.travel(start + timedelta(days=1, hours=1), tick=False):
        dispatch_batch()
    assert count(lead) == 1

    # Every link of one email opened within a second: a scanner after all; the earlier "person" is struck out.
    day_two = ScheduledEmail.objects.get(lead=lead, step="day-2")
    at = start + timedelta(days=1, hours=5)
    with time_machine.travel(at, tick=False):
        human_click(lead, day_two)
    assert count(lead) == 0
    with time_machine.travel(at + timedelta(milliseconds=500), tick=False):
        click = click_record(lead_id=lead.pk, row_id=day_two.pk, target=Click.Target.UPGRADE, user_agent=BROWSER)
    assert click is not None and click.machine == Click.Machine.BURST
    assert count(lead) == 1


def test_the_segment_answers_what_the_old_definition_answered() -> None:
    """A small list with sends and clicks interleaved at random (seeded), sent by the real dispatcher."""
    rng = random.Random(20)
    start = timezone.now() - timedelta(days=30)
    leads = [reader(f"r{i}") for i in range(12)]
    steps = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]
    given: dict[int, int] = {lead.pk: 0 for lead in leads}
    for day, step in enumerate(steps):
        at = start + timedelta(days=day)
        sent_together({lead: [step] for lead in leads if rng.random() < 0.8 and given[lead.pk] == day}
                      or {leads[0]: [step]}, at)
        for lead in leads:
            given[lead.pk] = ScheduledEmail.objects.filter(lead=lead).count()
            if rng.random() < 0.25:
                rows = list(ScheduledEmail.objects.filter(lead=lead))
                with time_machine.travel(at + timedelta(hours=rng.randint(1, 20)), tick=False):
                    if rng.random() < 0.3:  # a scanner's GET
                        click_record(lead_id=lead.pk, row_id=rng.choice(rows).pk if rows else None,
                                     target=Click.Target.FREE_GUIDE, user_agent=SCANNER)
                    else:
                        human_click(lead, rng.choice(rows) if rows else None)

    answers = {}
    for n in range(1, 9):
        segment = make_segment([{"kind": "no_click_in_last", "emails": n}], name=f"n{n}")
        answers[n] = {lead.pk for lead in segment_leads(segment)}
        assert answers[n] == old_no_click_in_last(n), n
    assert len({frozenset(answer) for answer in answers.values()}) >= 3  # the data set tells the answers apart

    # The backfill (the migration's statement, and its live twin for every lead) counts the same from the rows.
    counts = dict(Lead.objects.values_list("pk", "marketing_since_click"))
    Lead.objects.update(marketing_since_click=0)
    migration = importlib.import_module("emails.migrations.0010_sunset_settings_and_since_click_backfill")
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert dict(Lead.objects.values_list("pk", "marketing_since_click")) == counts
    Lead.objects.update(marketing_since_click=0)
    since_click_recount()
    assert dict(Lead.objects.values_list("pk", "marketing_since_click")) == counts
    since_click_recount(lead_ids=list(counts))
    assert dict(Lead.objects.values_list("pk", "marketing_since_click")) == counts


def test_a_segment_count_reads_the_lead_alone() -> None:
    segment = make_segment([{"kind": "no_click_in_last", "emails": 3}])
    sql = str(segment_leads(segment).query)
    assert "marketing_since_click" in sql and ScheduledEmail._meta.db_table not in sql


@pytest.mark.postgres
def test_the_postgresql_mark_sent_raises_the_counts_the_plain_one_raises() -> None:
    now = timezone.now()
    two, mixed, foreign = reader("two"), reader("mixed"), reader("foreign")
    for lead, step, stream in ((two, "welcome", "marketing"), (two, "day-1", "marketing"),
                               (mixed, "welcome", "marketing"), (mixed, "signin", "transactional"),
                               (foreign, "welcome", "marketing")):
        ScheduledEmail.objects.create(lead=lead, step=step, stream=stream, send_at=now - timedelta(minutes=1))
    claim = "host:1:abc"
    ids = dispatch._claim_ids(claim, now=now, size=10)
    ScheduledEmail.objects.filter(lead=foreign).update(claimed_by="other:2:def")  # not ours: not marked, not counted
    sent_ids = {pk: f"esp-{pk}" for pk in ids}
    rows_before = list(ScheduledEmail.objects.order_by("pk").values())

    def counts() -> dict[str, int]:
        return {lead.first_name.lower(): lead.marketing_since_click for lead in Lead.objects.all()}

    outcomes._mark_sent(sent_ids, claim, now)
    plain = counts()
    for row in rows_before:
        ScheduledEmail.objects.filter(pk=row["id"]).update(**{k: v for k, v in row.items() if k != "id"})
    Lead.objects.update(marketing_since_click=0)
    outcomes._mark_sent_postgresql(sent_ids, claim, now)
    assert counts() == plain == {"two": 2, "mixed": 1, "foreign": 0}


def test_saved_segments_keep_selecting_the_unsubscribed_after_inactive_changed_meaning() -> None:
    from django.apps import apps

    migration = importlib.import_module("emails.migrations.0010_sunset_settings_and_since_click_backfill")
    old = make_segment([{"kind": "status", "value": "inactive"}, {"kind": "status", "value": "paused"}], name="old")
    migration._inactive_was_unsubscribed(apps, None)
    old.refresh_from_db()
    assert old.conditions == [{"kind": "status", "value": "unsubscribed"}, {"kind": "status", "value": "paused"}]
