"""Deploy checks (`manage.py check --deploy`, run by bin/migrate before every release): refuse a configured
Stripe Price that no payment can be checked against."""

from typing import Any

import stripe
from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, register

from funnel.checkout.fulfilment import expected_price, price_amount_problem
from funnel.checkout.stripe_client import stripe_is_configured


@register("stripe", deploy=True)
def stripe_price_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    price_id = settings.STRIPE_PRICE_ID
    if not price_id or not stripe_is_configured():
        return []
    try:
        amount, _currency = expected_price()
    except (stripe.APIConnectionError, stripe.APIError) as exc:
        # Stripe is unreachable or failing, which is no fault of the settings: the release goes ahead, and a
        # purchase that cannot be checked is held for review at fulfilment.
        return [Info(f"STRIPE_PRICE_ID {price_id} could not be read from Stripe, so it was not checked: {exc}",
                     id="funnel.I001")]
    except stripe.StripeError as exc:
        return [Error(f"STRIPE_PRICE_ID {price_id} could not be read from Stripe: {exc}",
                      hint="Set STRIPE_PRICE_ID to a Price of the account whose STRIPE_SECRET_KEY is set.",
                      id="funnel.E001")]
    if amount is None:
        return [Error(price_amount_problem(price_id), id="funnel.E002")]
    return []
