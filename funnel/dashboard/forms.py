from datetime import date, timedelta

from django import forms
from django.utils import timezone

from funnel.dashboard.selectors import DashboardFilters

DEFAULT_DAYS = 7  # "how does this week compare with last week" is the everyday question
MAX_DAYS = 366


class DashboardFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    utm_source = forms.CharField(required=False, max_length=100, label="Source")
    utm_medium = forms.CharField(required=False, max_length=100, label="Medium")
    utm_campaign = forms.CharField(required=False, max_length=100, label="Campaign")

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date must be on or before the end date.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data

    def filters(self, *, today: date | None = None) -> DashboardFilters:
        """The chosen filters; the last 7 days up to today when dates are missing or the form is invalid."""
        today = today or timezone.now().date()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        return DashboardFilters(
            start=start,
            end=end,
            utm_source=data.get("utm_source", ""),
            utm_medium=data.get("utm_medium", ""),
            utm_campaign=data.get("utm_campaign", ""),
        )
