from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # privacy: a person's data download and erasure include their mail (leads never imports emails, so this
        # side registers). tracking: anymail's `tracking` signal, the one integration boundary using a receiver.
        from emails import privacy, tracking  # noqa: F401
