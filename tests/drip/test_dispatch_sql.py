"""The dispatcher's PostgreSQL statements (claim, hand-off mark, sent) leave every row exactly as their plain ORM
versions do: each pair runs on the same rows from the same starting state and the tables are compared."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emails import dispatch, outcomes
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail
from leads.models import Lead

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

Status = ScheduledEmail.Status
NOW = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
CLAIM = "host:1:abc"


def make_rows() -> list[int]:
    """Due rows at different times (the claim takes the earliest), some not due, one already claimed elsewhere."""
    leads = Lead.objects.bulk_create(
        [Lead(email=f"sql{i}@example.com", status=Lead.Status.SUBSCRIBED) for i in range(12)])
    rows = [ScheduledEmail(lead=lead, step="welcome", send_at=NOW - timedelta(minutes=(i * 7) % 12))
            for i, lead in enumerate(leads[:9])]
    rows += [ScheduledEmail(lead=lead, step="welcome", send_at=NOW + timedelta(minutes=5)) for lead in leads[9:11]]
    rows.append(ScheduledEmail(lead=leads[11], step="welcome", send_at=NOW - timedelta(hours=1),
                               status=Status.SENDING, claimed_by="other:2:def", lease_until=NOW))
    return [r.pk for r in ScheduledEmail.objects.bulk_create(rows)]


def table() -> list[dict[str, Any]]:
    return [dict(row) for row in ScheduledEmail.objects.order_by("pk").values()]


def same_from_same_start(plain: Callable[[], Any], fast: Callable[[], Any]) -> None:
    """Runs `plain`, records the table, puts every row back as it was, runs `fast`, compares."""
    before = table()
    plain_result = plain()
    after_plain = table()
    for row in before:
        ScheduledEmail.objects.filter(pk=row["id"]).update(**{k: v for k, v in row.items() if k != "id"})
    assert table() == before
    fast_result = fast()
    assert table() == after_plain
    assert fast_result == plain_result


def test_claim_ids_leases_the_same_rows_as_the_plain_claim() -> None:
    make_rows()

    def claimed(claim_ids: Callable[..., list[int]]) -> Callable[[], list[int]]:
        return lambda: sorted(claim_ids(CLAIM, now=NOW, size=5))

    same_from_same_start(claimed(dispatch._claim_ids), claimed(dispatch._claim_ids_postgresql))
    leased = ScheduledEmail.objects.filter(claimed_by=CLAIM)
    assert leased.count() == 5
    assert max(leased.values_list("send_at", flat=True)) <= min(
        ScheduledEmail.objects.filter(status=Status.SCHEDULED).values_list("send_at", flat=True))


def test_mark_handed_marks_the_chunk_and_renews_every_lease_like_the_plain_update() -> None:
    make_rows()
    waiting = sorted(dispatch._claim_ids(CLAIM, now=NOW, size=6))
    ScheduledEmail.objects.filter(pk=waiting[-1]).update(claimed_by="other:3:ghi")  # lost to another dispatcher
    experiment = Experiment.objects.create(step="welcome", name="subject test")
    variant = Variant.objects.create(experiment=experiment, label="A", subject="Hello")
    part = list(ScheduledEmail.objects.filter(pk__in=waiting[:3]).order_by("pk"))
    part[0].copy_version, part[0].variant = 3, variant
    part[1].copy_version = 4  # no arm: its variant stays as it is
    # part[2]: rendered from no stored version (its columns stay as they are)
    mark = NOW + timedelta(seconds=2)

    same_from_same_start(lambda: dispatch._mark_handed(CLAIM, waiting, part, mark),
                         lambda: dispatch._mark_handed_postgresql(CLAIM, waiting, part, mark))
    assert dispatch._mark_handed_postgresql(CLAIM, waiting, part, mark) == len(waiting) - 1
    handed = dict(ScheduledEmail.objects.filter(pk__in=waiting).values_list("pk", "handed_at"))
    assert [handed[pk] is not None for pk in waiting] == [True, True, True, False, False, False]


def test_mark_sent_writes_what_the_plain_update_writes() -> None:
    make_rows()
    ids = sorted(dispatch._claim_ids(CLAIM, now=NOW, size=5))
    ScheduledEmail.objects.filter(pk=ids[0]).update(status=Status.UNKNOWN)  # lease lost, recovered: still written
    ScheduledEmail.objects.filter(pk=ids[1]).update(claimed_by="other:3:ghi")  # not ours: untouched
    sent = {pk: f"esp-{pk}" for pk in reversed(ids)}  # ids in another order than the table's

    same_from_same_start(lambda: outcomes._mark_sent(sent, CLAIM, NOW),
                         lambda: outcomes._mark_sent_postgresql(sent, CLAIM, NOW))
    rows = {r.pk: r for r in ScheduledEmail.objects.filter(pk__in=ids)}
    assert [rows[pk].status for pk in ids] == [Status.SENT, Status.SENDING, Status.SENT, Status.SENT, Status.SENT]
    assert all(rows[pk].esp_message_id == f"esp-{pk}" for pk in ids if pk != ids[1])
