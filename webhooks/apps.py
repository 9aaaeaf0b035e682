from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The lower layers announce their events through their own signals; this app listens (it may import them,
        # they may not import it), and removes its copies of a person on erasure.
        from webhooks import privacy as _privacy  # noqa: F401
        from webhooks import receivers as _receivers  # noqa: F401
