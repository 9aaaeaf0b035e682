"""How long to wait before the next automatic try of something that failed: doubling from a first wait, capped.

In `emails` (the lowest layer that retries: the dispatcher's failed sends) so that `funnel` (failed Stripe events)
uses the same rule; `leads` retries nothing.
"""


def exponential_backoff_seconds(*, attempts: int, first_seconds: int, most_seconds: int) -> int:
    """The wait after `attempts` failed tries: first_seconds after the first (or none yet), then doubling."""
    return min(first_seconds * 2 ** max(attempts - 1, 0), most_seconds)
