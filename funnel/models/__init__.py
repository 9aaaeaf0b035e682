from funnel.models.abuse import ConfirmationWindow, SignupGuardDay
from funnel.models.checkout import CheckoutSession, PaymentReversal, Purchase, SignInLinkUse, StripeEvent
from funnel.models.practice import PracticeSession
from funnel.models.rollups import (
    DeliverabilityDayCount,
    EmailDayCount,
    RollupCursor,
    RollupDay,
    SignupDayCount,
)
from funnel.models.visits import DailyVisit

__all__ = ["CheckoutSession", "ConfirmationWindow", "DailyVisit", "DeliverabilityDayCount", "EmailDayCount",
           "PaymentReversal", "PracticeSession", "Purchase",
           "RollupCursor", "RollupDay", "SignInLinkUse", "SignupDayCount", "SignupGuardDay", "StripeEvent"]
