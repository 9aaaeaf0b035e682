"""What the ESP told us about a lead's mail, announced for outgoing webhooks (sent inside the transaction that
stores the tracking event, once per event). Keyword arguments: `lead`, `event` (the stored EmailEvent)."""

from django.dispatch import Signal

email_bounced = Signal()
email_complained = Signal()
