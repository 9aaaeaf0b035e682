"""One send rate for every worker: two real Celery worker processes, one limit counted in Redis, the fake Postmark
as a real HTTP server measuring when each message arrives."""

import bisect
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.tasks import dispatch_due as dispatch_due_task
from leads.models import Lead
from tests.conftest import WorkerProcess, wait_until

from .fake_esp import FakePostmark

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
Status = ScheduledEmail.Status
LIMIT = 25  # messages per second, for the whole account


@pytest.fixture
def esp() -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        yield fake


def most_in_any_window(arrivals: list[float], seconds: float) -> int:
    """The most messages that arrived within any `seconds` (a half-open stretch [t, t + seconds))."""
    ordered = sorted(arrivals)
    return max(bisect.bisect_left(ordered, t + seconds) - i for i, t in enumerate(ordered))


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_share_one_rate_limit(esp: FakePostmark, worker_env: dict[str, str]) -> None:
    worker_env.update({"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
                       "ANYMAIL_POSTMARK_SERVER_TOKEN": "test-token", "ANYMAIL_POSTMARK_API_URL": esp.url,
                       "ESP_MAX_MESSAGES_PER_SECOND": str(LIMIT), "DRIP_BATCH_SIZE": "10",
                       "DRIP_KICK_ON_QUEUE": "false"})
    dispatch_due_task.app.control.purge()
    import redis

    shared = redis.Redis.from_url(worker_env["REDIS_URL"])
    for key in shared.scan_iter("esp-rate*"):  # an earlier run's window must not slow this one
        shared.delete(key)
    n = 150
    leads = Lead.objects.bulk_create([Lead(email=f"rate{i}@example.com", status=Lead.Status.SUBSCRIBED)
                                      for i in range(n)])
    ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome",
                                                       send_at=timezone.now() - timedelta(seconds=1))
                                        for lead in leads])
    workers = [WorkerProcess(worker_env), WorkerProcess(worker_env)]
    try:
        for worker in workers:
            worker.start()
        for _ in range(4):  # both workers take a dispatcher run, as beat's and the kicks' tasks spread over them
            dispatch_due_task.delay()
        wait_until(lambda: len(esp.accepted) == n, timeout=60, interval=0.2, what="every message sent")
    finally:
        for worker in workers:
            worker.stop()

    claimers = {claim.rsplit(":", 1)[0] for claim in ScheduledEmail.objects.values_list("claimed_by", flat=True)}
    assert len(claimers) == 2, "both worker processes sent"
    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.SENT}
    # Over the whole run and in any stretch of it, the two together stay within the limit (+10 %).
    span = max(esp.arrivals) - min(esp.arrivals)
    assert (n - LIMIT) / span <= LIMIT * 1.1, f"{n} messages in {span:.2f} s"
    assert most_in_any_window(esp.arrivals, 3.0) <= 3 * LIMIT * 1.1
