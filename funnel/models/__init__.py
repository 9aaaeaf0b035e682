from funnel.models.checkout import CheckoutSession, PaymentReversal, Purchase, StripeEvent
from funnel.models.practice import PracticeSession
from funnel.models.visits import DailyVisit

__all__ = ["CheckoutSession", "DailyVisit", "PaymentReversal", "PracticeSession", "Purchase", "StripeEvent"]
