"""Build (or rebuild) the dashboard's daily rollup for the last N days, e.g. after a deploy or a data import.

Idempotent and safe while the site runs: a week's rows are replaced per transaction. Beat keeps the rollup current
afterwards (funnel/dashboard/services.py).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from funnel.dashboard.services import rollup_rebuild_recent


class Command(BaseCommand):
    help = "Rebuild the conversion dashboard's daily rollup for the last N days (default 90)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=90, help="How many days back from today, today included.")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            self.stderr.write(f"\r{done}/{total} days", ending="")
            self.stderr.flush()

        built = rollup_rebuild_recent(days=options["days"], on_progress=progress)
        self.stderr.write("")
        self.stdout.write(f"Rebuilt the dashboard rollup for the last {built} days.")
