"""Admin for the sequence's timing: one change page for the one row, no list, no add, no delete.

The row need not exist yet: the page shows the defaults until the first save creates it (a GET writes nothing).
Staff with only the view permission (the "marketing" group) see the page read-only, as Django's admin does for
any model. Who saved and when is on the page, and each save is in the page's history.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from emails.content.models import SequenceSettings
from emails.content.timing import SETTINGS_PK, sequence_settings_save

SUNSET_FIELDS = ["sunset_after_emails", "sunset_subscribed_days", "sunset_grace_days"]
SUNSET_HELP = {
    "sunset_after_emails": "A reader with this many marketing emails in a row and no human click gets the "
                           "“do you still want these?” email (edited under Email copy: sunset), once. "
                           "3-100.",
    "sunset_subscribed_days": "Only readers who confirmed more than this many days ago are asked. 14-3650.",
    "sunset_grace_days": "Without a human click (or a preferences save) this many days after that email, the reader "
                         "becomes inactive: no more marketing mail. Buyers and transactional mail are never affected. "
                         "1-60.",
}


class SequenceSettingsForm(forms.ModelForm):
    # Declared here (not from the model) for messages that say what to type rather than "ensure this value...".
    send_hour = forms.IntegerField(
        required=False, min_value=0, max_value=23, label="Send hour",
        error_messages={"min_value": "Enter an hour from 0 to 23 (0 is midnight, 13 is 1 p.m.).",
                        "max_value": "Enter an hour from 0 to 23 (0 is midnight, 13 is 1 p.m.).",
                        "invalid": "Enter the hour as a whole number from 0 to 23."})
    days_between_steps = forms.IntegerField(
        min_value=1, max_value=14, label="Days between reminders",
        error_messages={"min_value": "Enter a number of days from 1 to 14 (1 sends a reminder every day).",
                        "max_value": "Enter a number of days from 1 to 14 (1 sends a reminder every day).",
                        "required": "Enter a number of days from 1 to 14 (1 sends a reminder every day).",
                        "invalid": "Enter the days as a whole number from 1 to 14."})

    follow_up_after_days = forms.IntegerField(
        min_value=1, max_value=30, label="Days from day 7 to the first follow-up",
        error_messages={"min_value": "Enter a number of days from 1 to 30.", "max_value": "Enter a number of days "
                        "from 1 to 30.", "required": "Enter a number of days from 1 to 30.",
                        "invalid": "Enter the days as a whole number from 1 to 30."})
    follow_up_days_between = forms.IntegerField(
        min_value=1, max_value=30, label="Days between follow-up emails",
        error_messages={"min_value": "Enter a number of days from 1 to 30.", "max_value": "Enter a number of days "
                        "from 1 to 30.", "required": "Enter a number of days from 1 to 30.",
                        "invalid": "Enter the days as a whole number from 1 to 30."})

    # The sunset (emails/sunset.py), in the model's ranges. Left out of a save: the stored value stays.
    sunset_after_emails = forms.IntegerField(required=False, min_value=3, max_value=100,
                                             label="Sunset: emails without a click",
                                             help_text=SUNSET_HELP["sunset_after_emails"])
    sunset_subscribed_days = forms.IntegerField(required=False, min_value=14, max_value=3650,
                                                label="Sunset: days on the list",
                                                help_text=SUNSET_HELP["sunset_subscribed_days"])
    sunset_grace_days = forms.IntegerField(required=False, min_value=1, max_value=60, label="Sunset: days to answer",
                                           help_text=SUNSET_HELP["sunset_grace_days"])

    class Meta:
        model = SequenceSettings
        fields = ["send_hour", "days_between_steps", "follow_up_after_days", "follow_up_days_between",
                  *SUNSET_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["send_hour"].help_text = (
            "The hour on each reader's own clock at which reminders go out, 0-23. Leave empty for the default, "
            f"{settings.DRIP_SEND_HOUR} (DRIP_SEND_HOUR). Applies to reminders scheduled after you save; "
            "emails already scheduled keep their time.")
        self.fields["days_between_steps"].help_text = (
            "Days from one reminder to the next, 1-14. The first reminder still goes out on the first morning "
            "at least 12 hours after the welcome. Applies to readers who start after you save.")
        self.fields["follow_up_after_days"].help_text = (
            "Readers who finished day 7 without buying get the follow-up emails (follow-up-1 to -3, edited under "
            "Email copy) at the send hour: the first this many days after day 7. Applies to readers who finish "
            "after you save.")
        self.fields["follow_up_days_between"].help_text = "Days from one follow-up email to the next, 1-30."


class SequenceSettingsAdmin(admin.ModelAdmin):
    form = SequenceSettingsForm
    fields = ["send_hour", "days_between_steps", "follow_up_after_days", "follow_up_days_between", *SUNSET_FIELDS,
              "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the one row is created by the first save of its change page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        if str(object_id) != str(SETTINGS_PK):
            return None
        # Not saved yet: the defaults, shown as the page the first save creates.
        return super().get_object(request, object_id, from_field) or SequenceSettings(pk=SETTINGS_PK)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:emails_sequencesettings_change", args=[SETTINGS_PK]))

    def save_model(self, request: HttpRequest, obj: SequenceSettings, form: forms.ModelForm, change: bool) -> None:
        saved = sequence_settings_save(send_hour=form.cleaned_data["send_hour"],
                                       days_between_steps=form.cleaned_data["days_between_steps"],
                                       follow_up_after_days=form.cleaned_data["follow_up_after_days"],
                                       follow_up_days_between=form.cleaned_data["follow_up_days_between"],
                                       **{name: form.cleaned_data[name] for name in SUNSET_FIELDS},
                                       user=request.user)  # type: ignore[arg-type]
        obj.updated_by, obj.updated_at = saved.updated_by, saved.updated_at
