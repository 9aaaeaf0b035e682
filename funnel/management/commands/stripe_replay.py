"""Post a saved Stripe event (JSON file) to the webhook, signed with STRIPE_WEBHOOK_SECRET as Stripe signs.

In-process to the real webhook view by default; `--url` posts over HTTP to a running server instead. The webhook
stores the event and answers (400 for a body it refuses); a worker then processes it.
"""

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.checkout.signatures import signature_header
from funnel.checkout.simulator_actions import event_post


class Command(BaseCommand):
    help = "Sign and post a saved Stripe event JSON file to the Stripe webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--url", default="", help="POST over HTTP to this webhook URL instead of in-process")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            event = json.loads(options["file"].read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read an event from {options['file']}: {exc}") from exc
        if not isinstance(event, dict) or "id" not in event or "type" not in event:
            raise CommandError("the file does not hold a Stripe event (no id/type)")
        if options["url"]:
            status = self._post_http(options["url"], json.dumps(event).encode())
        else:
            status = event_post(event).status_code
        self.stdout.write(f"{event['type']} {event['id']} -> HTTP {status}")
        if status >= 400:
            raise CommandError(f"the webhook answered {status}")

    def _post_http(self, url: str, body: bytes) -> int:
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url must be http(s)")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Stripe-Signature": signature_header(body, secret=settings.STRIPE_WEBHOOK_SECRET)},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
