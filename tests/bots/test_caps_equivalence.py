"""The caps booked in Redis (the speed trick) and in the database (the plain version) give the same hours."""

import random
from typing import Any

import pytest

from funnel.landing.abuse import confirmation_hour_book_in_database
from funnel.landing.caps_redis import confirmation_hour_book
from tests.bots.conftest import START

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_redis_and_database_book_the_same_hours(settings: Any) -> None:
    settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = 4
    settings.CONFIRMATION_CAP_PER_HOUR = 7
    hour = int(START.timestamp()) // 3600
    rng = random.Random(21)
    # A burst mixing one bombed domain with a few others, some signups arriving in later hours.
    arrivals = [(rng.choice(["victim.example"] * 3 + ["a.example", "b.example"]), hour + rng.choice([0] * 6 + [1, 3]))
                for _ in range(120)]
    arrivals.sort(key=lambda pair: pair[1])
    in_database = [confirmation_hour_book_in_database(domain=d, hour=h) for d, h in arrivals]
    in_redis = [confirmation_hour_book(domain=d, hour=h, cap_domain=4, cap_total=7, tries=8) for d, h in arrivals]
    assert in_redis == in_database
    assert max(in_database) > hour + 10  # the burst really spilled over many hours
