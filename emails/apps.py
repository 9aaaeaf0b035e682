from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EmailsConfig(AppConfig):
    name = "emails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # privacy: a person's data download and erasure include their mail (leads never imports emails, so this
        # side registers). tracking: anymail's `tracking` signal, the one integration boundary using a receiver.
        # timing: the send hour set in the admin, which the preferences page in `leads` shows (same seam).
        from emails import privacy, tracking  # noqa: F401
        from emails.content import timing  # noqa: F401
        from emails.deliverability import checks  # noqa: F401  (the sender check, run by `check --deploy`)
        # The shipped copy (emails/content/files) becomes versions on migrate, so `make run` sends it from the start.
        post_migrate.connect(_load_shipped_copy, sender=self)


def _load_shipped_copy(*, using: str = "default", **_: Any) -> None:
    from django.db import connections

    from emails.content.loading import shipped_copy_load
    from emails.content.models import EmailCopy

    # post_migrate also follows a migrate of another app alone, before this app's tables exist.
    if EmailCopy._meta.db_table in connections[using].introspection.table_names():
        shipped_copy_load(using=using)
