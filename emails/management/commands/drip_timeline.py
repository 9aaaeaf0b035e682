"""`python manage.py drip_timeline EMAIL`: a lead's schedule and what happened to each row."""

from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from emails.schedule import reader_zone
from emails.selectors import lead_by_email, lead_schedule


class Command(BaseCommand):
    help = "Print a lead's email schedule (UTC and the lead's local time) and each row's outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        lead = lead_by_email(options["email"])
        if lead is None:
            raise CommandError("No lead with that address.")
        zone: ZoneInfo = reader_zone(lead.time_zone)
        self.stdout.write(f"Lead #{lead.pk} status={lead.status} zone={zone.key} customer={lead.is_customer} "
                          f"paused_until={lead.paused_until or '-'} suppression={lead.suppression or '-'}")
        for row in lead_schedule(lead=lead):
            local = row.send_at.astimezone(zone)
            outcome = row.status
            if row.sent_at:
                outcome += f" at {row.sent_at:%Y-%m-%d %H:%M:%S}Z"
            if row.skip_reason:
                outcome += f" ({row.skip_reason})"
            if row.last_error:
                outcome += f" error: {row.last_error[:80]}"
            events = ", ".join(e.event_type for e in row.events.all())
            clicks = len(row.clicks.all())
            self.stdout.write(
                f"  #{row.pk:<6} {row.step:<16} {row.stream:<13} {row.send_at:%Y-%m-%d %H:%M:%S}Z "
                f"(local {local:%a %Y-%m-%d %H:%M %Z})  {outcome}"
                + (f"  events: {events}" if events else "") + (f"  clicks: {clicks}" if clicks else "")
            )
