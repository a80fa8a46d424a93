"""Admin building blocks shared by the apps' admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest

if TYPE_CHECKING:  # what ReadOnlyAdminMixin is mixed into, so mypy checks its super() call
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object


class VersionCheckedForm(forms.ModelForm):
    """Refuses a save when the aggregate's version moved since the page was opened."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            self.fields["seen_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        seen = data.get("seen_version")
        if self.instance.pk is not None and seen is not None:
            model = type(self.instance)
            current = model.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if current != seen:
                raise ValidationError(
                    f"This {model._meta.verbose_name} changed while you were editing it (version {seen}, "
                    f"now {current}). Reload the page to see the change, then edit again.",
                    code="stale",
                )
        return data


class ConcurrencySafeAdmin(admin.ModelAdmin):
    """A change form that never overwrites what others changed meanwhile.

    Two guards: the version the page was opened with must still be current (status transitions
    and other recorded events bump it), and a save writes only the fields the form changed, so a
    concurrent write to any other column (an order's status, an ingredient's stock consumed by an
    order) is never replaced by the stale value the admin loaded.
    """

    form = VersionCheckedForm

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, (None, {"fields": ["seen_version"], "classes": ["hidden"]})]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            return super().save_model(request, obj, form, change)
        model_fields = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in model_fields]
        auto_now = [f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)]
        if changed:
            obj.save(update_fields=[*changed, *auto_now])


class ReadOnlyAdminMixin(_ModelAdmin):
    """No add and no change form for anyone: the rows are written by code (events, handlers, the
    bus), not by staff. Put it before the admin class: `class X(ReadOnlyAdminMixin, admin.ModelAdmin)`.

    deletable: False refuses deleting too (a row other rows or the audit trail depend on).
    """

    deletable = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)
