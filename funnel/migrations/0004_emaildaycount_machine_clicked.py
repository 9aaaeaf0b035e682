from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funnel", "0003_purchase_duplicate_review"),
    ]

    operations = [
        migrations.AddField(
            model_name="emaildaycount",
            name="machine_clicked",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
