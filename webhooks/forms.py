from typing import Any

from django import forms
from django.conf import settings
from django.db import models

from webhooks.models import EVENT_TYPES, Endpoint
from webhooks.transport import AddressRefused, destination_resolve


def _formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")  # Django 6's default, today
    return field.formfield(**kwargs)


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=EVENT_TYPES, widget=forms.CheckboxSelectMultiple,
                                       help_text="The events this endpoint receives.")

    class Meta:
        model = Endpoint
        fields = ("url", "description", "events", "is_active")
        formfield_callback = _formfield

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
            raise forms.ValidationError("Put no user name or password in the URL; the signature authenticates us.")
        if not settings.WEBHOOKS_ALLOW_PRIVATE:
            # The sender checks again on every attempt (DNS can change); this only says so early.
            try:
                destination_resolve(url)
            except AddressRefused as refused:
                raise forms.ValidationError(f"This URL cannot receive webhooks: {refused}.") from refused
        return url

    def clean_events(self) -> list[str]:
        chosen = set(self.cleaned_data["events"])
        return [name for name, _label in EVENT_TYPES if name in chosen]
