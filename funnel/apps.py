from django.apps import AppConfig


class FunnelConfig(AppConfig):
    name = "funnel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each area tells the email renderer what its emails need (links, the practice log), so `emails`
        # never imports `funnel`; and adds its purchases, Stripe payloads and app sessions to a lead's data
        # download and erasure (funnel/privacy.py), so `leads` never imports `funnel` either.
        from funnel import privacy as _privacy  # noqa: F401
        from funnel.checkout import checks as _checks  # noqa: F401  (registers the deploy check of the Price)
        from funnel.checkout import email_context as _checkout  # noqa: F401
        from funnel.landing import email_context as _landing  # noqa: F401
        from funnel.practice import email_context as _practice  # noqa: F401
