"""Recipient domains and the mailbox provider behind each, looked up once (providers.py)."""

from django.db import models


class MailboxProvider(models.TextChoices):
    # Each label is the name's own capitalisation ("Gmail", "Microsoft"…), as TextChoices makes it.
    GMAIL = "gmail"
    YAHOO = "yahoo"
    MICROSOFT = "microsoft"
    APPLE = "apple"
    OTHER = "other"


class MailboxDomain(models.Model):
    """A custom recipient domain whose MX host was read: which provider hosts its mailboxes (Google Workspace,
    Microsoft 365…). Well-known consumer domains (gmail.com…) never need a row."""

    domain = models.CharField(max_length=253, unique=True)
    provider = models.CharField(max_length=16, choices=MailboxProvider.choices)
    mx_host = models.CharField(max_length=253, blank=True)  # the most preferred MX host; empty when it has none
    resolved_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.domain}: {self.get_provider_display()} ({self.mx_host or 'no MX'})"
