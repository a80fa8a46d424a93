from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_resend_permission_and_suppressed_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="unknown_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="notification",
            name="unknown_outcomes",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="notification",
            name="reconciled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
