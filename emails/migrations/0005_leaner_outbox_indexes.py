"""Fewer indexes on the outbox: each of a row's three updates (claim, hand-off, outcome) writes every index again.

The database side only drops indexes: Django's own AlterField would also drop and re-add the foreign keys, which
re-checks every row of the table under a lock that blocks sending.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "emails_scheduledemail"
DROPPED = {  # Django's names for the indexes db_index=True made, and how to make them again on the way back
    "emails_scheduledemail_esp_message_id_3f076c35": "(esp_message_id)",
    "emails_scheduledemail_lead_id_ac569833": "(lead_id)",
    "emails_scheduledemail_variant_id_36f109f5": "(variant_id)",
}


def _drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    for name in [*DROPPED, "emails_scheduledemail_esp_message_id_3f076c35_like"]:  # _like: PostgreSQL's LIKE index
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _restore(apps, schema_editor):  # type: ignore[no-untyped-def]
    for name, columns in DROPPED.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{TABLE}" {columns}')


class Migration(migrations.Migration):

    dependencies = [
        ("emails", "0004_content_and_experiments"),
        ("leads", "0004_backfill_mailbox_sha256"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="scheduledemail",
                    name="esp_message_id",
                    field=models.CharField(blank=True, max_length=255),
                ),
                migrations.AlterField(
                    model_name="scheduledemail",
                    name="lead",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="scheduled_emails", to="leads.lead"),
                ),
                migrations.AlterField(
                    model_name="scheduledemail",
                    name="variant",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="scheduled_emails", to="emails.variant"),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _restore)],
        ),
        migrations.AddIndex(
            model_name="scheduledemail",
            index=models.Index(fields=["esp_message_id"], name="email_esp_message_idx"),
        ),
        migrations.AddIndex(
            model_name="scheduledemail",
            index=models.Index(condition=models.Q(("variant__isnull", False)), fields=["variant"],
                               name="email_variant_idx"),
        ),
    ]
