from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0002_suppression_history'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='lead',
            options={'permissions': [('export_lead', "Can export a lead's personal data")]},
        ),
        migrations.AddField(
            model_name='lead',
            name='mailbox_sha256',
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name='lead',
            name='privacy_link_used_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
