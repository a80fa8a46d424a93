from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # the browser's date picker


class DashboardFilter(forms.Form):
    """?start=&end= (the period, default the last 30 days) and ?day= (orders per hour, default end)."""

    start = forms.DateField(required=False, widget=DATE)
    end = forms.DateField(required=False, widget=DATE)
    day = forms.DateField(required=False, widget=DATE, label="Hours of")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The start date must not be after the end date.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data.update(start=start, end=end, day=data.get("day") or end)
        return data
