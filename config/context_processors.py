from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """Values every page template may need: the price and the postal address in the footer."""
    return {
        "SITE_URL": settings.SITE_URL,
        "PRICE_DISPLAY": f"${settings.PRODUCT_PRICE_CENTS / 100:.2f}",
        "COMPANY_POSTAL_ADDRESS": settings.COMPANY_POSTAL_ADDRESS,
    }
