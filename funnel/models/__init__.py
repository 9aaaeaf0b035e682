from funnel.models.checkout import CheckoutSession, PaymentReversal, Purchase, SignInLinkUse, StripeEvent
from funnel.models.practice import PracticeSession
from funnel.models.visits import DailyVisit

__all__ = ["CheckoutSession", "DailyVisit", "PaymentReversal", "PracticeSession", "Purchase", "SignInLinkUse",
           "StripeEvent"]
