"""List paid Checkout Sessions at Stripe and fulfil any the webhook missed (a safety net; run it daily).

Fulfilment is idempotent, so sessions already granted are only counted.
"""

import re
import time
from datetime import timedelta
from typing import Any

import stripe
from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.checkout.fulfilment import FulfilmentError, purchase_fulfil
from funnel.checkout.stripe_client import stripe_client, stripe_is_configured
from funnel.models import Purchase

_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_since(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhm])", value.strip())
    if not match:
        raise CommandError("--since takes a number and a unit: 3d, 12h or 30m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Fulfil paid Stripe Checkout Sessions created since --since that have no purchase yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="3d", help="how far back, e.g. 3d, 12h, 30m (default 3d)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not stripe_is_configured():
            raise CommandError("STRIPE_SECRET_KEY is not set (simulated sessions are delivered in-process)")
        since = int(time.time() - parse_since(options["since"]).total_seconds())
        sessions = stripe_client().v1.checkout.sessions.list(
            params={"created": {"gte": since}, "status": "complete", "limit": 100}
        )
        seen = fulfilled = failed = 0
        for session in sessions.auto_paging_iter():
            if session.get("payment_status") not in ("paid", "no_payment_required"):
                continue
            seen += 1
            session_id = str(session["id"])
            if Purchase.objects.filter(stripe_session_id=session_id).exists():
                continue
            try:
                purchase = purchase_fulfil(session_id=session_id)
            except (stripe.StripeError, FulfilmentError) as exc:
                failed += 1
                self.stderr.write(f"{session_id}: {exc}")
                continue
            if purchase is not None:
                fulfilled += 1
                self.stdout.write(f"{session_id}: fulfilled (purchase {purchase.pk}, {purchase.status})")
        self.stdout.write(f"paid sessions: {seen}, fulfilled now: {fulfilled}, failed: {failed}")
        if failed:
            raise CommandError(f"{failed} session(s) could not be fulfilled")
