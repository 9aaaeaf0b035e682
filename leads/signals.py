"""What happened to a lead, announced for whoever integrates with the outside world (outgoing webhooks).

Sent from inside the service's transaction, after the change: a receiver that writes (the webhook outbox) writes
in the same transaction, so a rolled-back change announces nothing. `leads` imports no one above it, so areas
above connect to these (see docs/architecture.md, "Layers"). Keyword arguments: `lead`, and `tag` for lead_tagged.
"""

from django.dispatch import Signal

lead_confirmed = Signal()
lead_unsubscribed = Signal()
lead_tagged = Signal()
