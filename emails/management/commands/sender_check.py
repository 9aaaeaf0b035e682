"""`manage.py sender_check`: the From domains' SPF, DKIM, DMARC and Return-Path records, one line each.

Exits 1 when a line fails or could not be checked (DNS unreachable, a setting missing), 0 when every line passes
or only warns; never with a traceback.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from emails.deliverability.sender_check import Outcome, SenderReport, sender_report


class Command(BaseCommand):
    help = "Check the DNS of each From domain (SPF, DKIM, DMARC, Return-Path) for the configured ESP."

    def handle(self, *args: Any, **options: Any) -> None:
        report = sender_report()
        self.stdout.write(render(report))
        failed, unchecked = report.count(Outcome.FAIL), report.count(Outcome.UNCHECKED)
        if failed or unchecked:
            raise CommandError(f"{failed} record(s) failed, {unchecked} could not be checked", returncode=1)


def render(report: SenderReport) -> str:
    esp = report.esp.name if report.esp else (report.esp_key or "no ESP")
    out = [f"Sender domain check for {esp}"]
    for domain in report.domains:
        out.append(f"\n{domain.domain} ({' and '.join(domain.used_by)})")
        for line in domain.lines:
            out.append(f"  {line.outcome.value.upper():<15} {line.record:<16} {line.detail}")
            if line.fix and line.outcome != Outcome.PASS:
                out.append(f"  {'':<15} {'':<16} → {line.fix}")
    return "\n".join(out)
