"""What happened to a purchase, announced for outgoing webhooks (sent inside the transaction that records it, once
per change). Keyword argument: `purchase`."""

from django.dispatch import Signal

purchase_paid = Signal()
purchase_refunded = Signal()
