"""The one retry rule (emails.backoff), used by failed sends and failed Stripe events alike."""

from emails.backoff import exponential_backoff_seconds


def test_the_wait_doubles_after_each_failure_up_to_the_cap() -> None:
    waits = [exponential_backoff_seconds(attempts=n, first_seconds=60, most_seconds=3600) for n in range(9)]
    assert waits == [60, 60, 120, 240, 480, 960, 1920, 3600, 3600]
