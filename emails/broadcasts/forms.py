"""The send page's form: when, and the recipient count confirmed (typed back above TYPE_BACK_ABOVE)."""

from datetime import UTC
from typing import Any

from django import forms

from emails.broadcasts.models import Broadcast
from emails.broadcasts.services import SendTime

# Above this many recipients a press is not enough: the count is typed back, so a wrong segment is noticed.
TYPE_BACK_ABOVE = 1000


class BroadcastSendForm(forms.Form):
    timing = forms.ChoiceField(choices=Broadcast.Timing.choices, widget=forms.RadioSelect,
                               initial=Broadcast.Timing.NOW, label="When")
    at = forms.DateTimeField(required=False, label="Date and time (UTC)", help_text="For “At a date and time”.",
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    local_date = forms.DateField(required=False, label="Date on each reader's clock",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    local_hour = forms.IntegerField(required=False, min_value=0, max_value=23, label="Hour on each reader's clock",
                                    help_text="0-23, e.g. 9 for 09:00 in Berlin for a Berlin reader and 09:00 in "
                                              "New York for a New York reader.")
    # The count the page showed: a different count at the moment of sending is shown again, not sent to.
    confirmed_count = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    typed_count = forms.IntegerField(required=False, label="Type the number of recipients to confirm")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        timing = data.get("timing")
        if timing == Broadcast.Timing.AT and not data.get("at"):
            self.add_error("at", "Enter the date and time (UTC) to send at.")
        if timing == Broadcast.Timing.LOCAL:
            if not data.get("local_date"):
                self.add_error("local_date", "Enter the date.")
            if data.get("local_hour") is None:
                self.add_error("local_hour", "Enter the hour, 0-23.")
        confirmed = data.get("confirmed_count")
        if confirmed is not None and confirmed > TYPE_BACK_ABOVE and data.get("typed_count") != confirmed:
            self.add_error("typed_count", f"This goes to more than {TYPE_BACK_ABOVE} readers: type the number of "
                                          "recipients shown above to confirm.")
        return data

    def send_time(self) -> SendTime:
        data = self.cleaned_data
        at = data.get("at")
        # The field reads the site's time zone, UTC (config/settings.py), as the label says.
        return SendTime(timing=data["timing"], at=at.astimezone(UTC) if at else None,
                        local_date=data.get("local_date"), local_hour=data.get("local_hour"))
