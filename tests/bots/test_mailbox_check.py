"""The signup's one-statement mailbox check answers as the ORM version it stands for, and so does the version that
takes the mailbox lock in the same round trip."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emails.models import ScheduledEmail
from funnel.landing.mailbox_check import mailbox_lock_and_refused, mailbox_refused, mailbox_refused_plain
from leads.mailbox import mailbox_sha256
from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_the_fast_check_and_the_plain_one_agree() -> None:
    now = timezone.now()
    since = now - timedelta(hours=3)

    def lead(email: str, **fields: str) -> Lead:
        return Lead.objects.create(email=email, mailbox_sha256=mailbox_sha256(email), **fields)

    lead("never@example.com")
    lead("complained@example.com", suppression=Lead.Suppression.COMPLAINT)
    lead("bounced@example.com", suppression=Lead.Suppression.HARD_BOUNCE)
    for email, step, created in [("mailed@example.com", "confirm", now), ("reminded@example.com",
                                 "confirm-reminder", now), ("yesterday@example.com", "confirm", since - timedelta(1)),
                                 ("welcomed@example.com", "welcome", now), ("edge@example.com", "confirm", since)]:
        ScheduledEmail.objects.create(lead=lead(email), step=step, stream="transactional", send_at=created,
                                      created_at=created)
    answers = {}
    for email in ["never", "complained", "bounced", "mailed", "reminded", "yesterday", "welcomed", "edge", "nobody"]:
        key = mailbox_sha256(f"{email}@example.com")
        answers[email] = mailbox_refused(key=key, since=since)
        assert answers[email] == mailbox_refused_plain(key=key, since=since), email
        assert answers[email] == mailbox_lock_and_refused(key=key, since=since), email
    assert {e for e, refused in answers.items() if refused} == {"complained", "mailed", "reminded", "edge"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_lock_is_held_until_the_transaction_ends() -> None:
    import psycopg
    from django.db import connection, transaction

    key = mailbox_sha256("held@example.com")
    params = {**connection.get_connection_params(), "autocommit": True}
    with psycopg.connect(**params) as other:
        def other_can_lock() -> bool:
            taken = other.execute("SELECT pg_try_advisory_lock(%s)", [int(key[:15], 16)]).fetchone()
            assert taken is not None
            if taken[0]:
                other.execute("SELECT pg_advisory_unlock(%s)", [int(key[:15], 16)])
            return bool(taken[0])

        with transaction.atomic():
            assert mailbox_lock_and_refused(key=key, since=timezone.now()) is False
            assert not other_can_lock()
        assert other_can_lock()
