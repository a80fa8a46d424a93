from django.db import models


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Signs each body: X-Pizzeria-Signature: sha256=<hmac>.")
    event_types = models.JSONField(
        default=list, blank=True, help_text='CloudEvents types, e.g. ["com.mariopizzeria.order.placed"]; empty = all.'
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types
