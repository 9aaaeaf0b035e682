from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funnel", "0004_emaildaycount_machine_clicked"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchase",
            name="refund_idempotency_key",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
