from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("emails", "0002_event_bounce_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="click",
            name="machine",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "A person"),
                    ("head", "HEAD request"),
                    ("agent", "Scanner or bot user agent"),
                    ("early", "Seconds after delivery"),
                    ("burst", "Every link of the email at once"),
                ],
                db_default="",
                default="",
                max_length=8,
            ),
        ),
    ]
