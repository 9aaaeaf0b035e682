"""Backfill the per-mailbox key (leads/mailbox.py) for leads created before 0003 added it.

Without it an old lead is invisible to the per-mailbox checks at signup: another spelling of a mailbox that
complained, or that already had its confirmation today, would still be sent one.

Batches of BATCH_SIZE leads, each in its own transaction (the migration itself is not atomic), so a table of
100,000+ leads is never locked as a whole and a migration stopped half-way resumes where it left off: only leads
still without a key are read.
"""

from typing import Any

from django.db import migrations, transaction

# The live function on purpose: the backfilled key must be exactly the one signups compute and compare against.
from leads.mailbox import mailbox_sha256

BATCH_SIZE = 1000


def backfill_mailbox_keys(apps: Any, schema_editor: Any) -> None:
    Lead = apps.get_model("leads", "Lead")
    alias = schema_editor.connection.alias
    last_pk = 0
    while True:
        with transaction.atomic(using=alias):
            # Locked while we write, so a signup changing one of these rows waits instead of being overwritten.
            batch = list(Lead.objects.using(alias).select_for_update()
                         .filter(pk__gt=last_pk, mailbox_sha256="", email__isnull=False).exclude(email="")
                         .order_by("pk").only("pk", "email")[:BATCH_SIZE])
            if not batch:
                return
            for lead in batch:
                lead.mailbox_sha256 = mailbox_sha256(lead.email)
            Lead.objects.using(alias).bulk_update(batch, ["mailbox_sha256"])
        last_pk = batch[-1].pk


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch (see above)

    dependencies = [
        ("leads", "0003_mailbox_privacy_link_export_permission"),
    ]

    operations = [
        # Going back leaves the keys: 0003's schema has the column, and a key set early is harmless.
        migrations.RunPython(backfill_mailbox_keys, migrations.RunPython.noop, elidable=True),
    ]
