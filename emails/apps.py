from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # anymail's `tracking` signal is the one integration boundary that uses a signal receiver.
        from emails import tracking  # noqa: F401
