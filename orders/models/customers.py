from __future__ import annotations

from django.conf import settings
from django.db import models

from orders.phones import validate_e164


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer")
    phone = models.CharField(
        max_length=20, blank=True, validators=[validate_e164], help_text="E.164, e.g. +15005550006"
    )
    email = models.EmailField(blank=True)
    default_address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_username()

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()
