"""Build (or rebuild) the dashboard's daily rollup for the last N days, e.g. after a deploy or a data import.

Idempotent and safe while the site runs: each run replaces the days' rows in one transaction. Beat keeps the
rollup current afterwards (funnel/dashboard/services.py).
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from funnel.dashboard.services import rollup_rebuild

CHUNK_DAYS = 7  # a week per transaction: short locks, visible progress


class Command(BaseCommand):
    help = "Rebuild the conversion dashboard's daily rollup for the last N days (default 90)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=90, help="How many days back from today, today included.")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.now().date()
        days = [today - timedelta(days=n) for n in range(options["days"])]
        built = 0
        for first in range(0, len(days), CHUNK_DAYS):
            built += rollup_rebuild(days=days[first:first + CHUNK_DAYS])
            self.stdout.write(f"\r{built}/{len(days)} days", ending="")
            self.stdout.flush()
        self.stdout.write(f"\nRebuilt the dashboard rollup for {built} days ({days[-1]} to {today}).")
