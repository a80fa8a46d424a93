"""Per-subscription deliveries: encrypted secrets, content mode, contact fields, circuit breaker;
inbound CloudEvents. Existing plain-text secrets are kept as their HMAC key bytes (whsec_ form),
encrypted; rotate them from the admin to hand receivers a Standard Webhooks secret."""

import base64

from django.db import migrations, models


def encrypt_existing_secrets(apps, schema_editor):
    from integrations.secrets import PREFIX, secret_encrypt, secret_hint

    Subscription = apps.get_model("integrations", "WebhookSubscription")
    for sub in Subscription.objects.all():
        secret = sub.secret if sub.secret.startswith(PREFIX) else PREFIX + base64.b64encode(sub.secret.encode()).decode()
        sub.secret_encrypted = secret_encrypt(secret)
        sub.secret_hint = secret_hint(secret)
        sub.save(update_fields=["secret_encrypted", "secret_hint"])


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhooksubscription", name="secret_encrypted",
            field=models.TextField(default="", editable=False), preserve_default=False,
        ),
        migrations.AddField(
            model_name="webhooksubscription", name="secret_hint",
            field=models.CharField(default="", editable=False, max_length=20), preserve_default=False,
        ),
        migrations.RunPython(encrypt_existing_secrets, migrations.RunPython.noop),
        migrations.RemoveField(model_name="webhooksubscription", name="secret"),
    ]
