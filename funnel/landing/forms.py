"""The signup form. Rendered by hand in the template (labels, errors tied to fields), validated here."""

from typing import Any

from django import forms

from funnel.landing.utm import UTM_FIELDS, clean_utm
from leads.consent import CONSENT_VERSION
from leads.services import Attribution
from leads.time_zones import clean_time_zone
from leads.validation import clean_first_name, normalise_email

ATTRIBUTION_FIELDS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer",
                      "landing_path"]


class SignupForm(forms.Form):
    # Plain CharFields: the address is checked by our own rules, with messages a person can act on.
    email = forms.CharField(required=False, strip=False)
    first_name = forms.CharField(required=False, strip=False)
    consent = forms.BooleanField(
        required=True,
        error_messages={"required": "Please tick the box so we may email you the guide."},
    )
    # The version of the wording the page showed: the consent record must prove what this person read.
    consent_version = forms.CharField(required=False)
    time_zone = forms.CharField(required=False)
    utm_source = forms.CharField(required=False)
    utm_medium = forms.CharField(required=False)
    utm_campaign = forms.CharField(required=False)
    utm_term = forms.CharField(required=False)
    utm_content = forms.CharField(required=False)
    referrer = forms.CharField(required=False)
    landing_path = forms.CharField(required=False)
    website = forms.CharField(required=False)

    def clean_email(self) -> str:
        return normalise_email(self.cleaned_data.get("email", ""))

    def clean_first_name(self) -> str:
        return clean_first_name(self.cleaned_data.get("first_name", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("consent") and cleaned.get("consent_version") != CONSENT_VERSION:
            self.add_error("consent", "We updated the wording of this box. Please read it and tick it again.")
        return cleaned

    def clean_time_zone(self) -> str:
        return clean_time_zone(self.cleaned_data.get("time_zone", ""))

    def attribution(self) -> Attribution:
        def plain(value: Any) -> str:
            # Hidden fields come back from the client: keep printable text only.
            return "".join(ch for ch in str(value or "") if ch.isprintable()).strip()

        # UTM values by the same rules as the visit counters (funnel/landing/utm.py), so both count alike.
        return Attribution(**{name: clean_utm(self.cleaned_data.get(name)) if name in UTM_FIELDS
                              else plain(self.cleaned_data.get(name)) for name in ATTRIBUTION_FIELDS})


class _SharedFields(dict[str, forms.Field]):
    """Django deep-copies a form's fields for each instance, so that one instance may change its own; no code changes
    a SignupForm's fields (the template renders them by hand), and the copy of fifteen fields with their widgets was
    a tenth of a signup's Python time at a launch-day peak. So every instance shares them (read-only, thread-safe)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


SignupForm.base_fields = _SharedFields(SignupForm.base_fields)
