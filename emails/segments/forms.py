"""The segment builder: a name, all/any, and a formset of conditions, one row each, no code and no JavaScript.

Each row picks a kind and fills the inputs that kind reads (the help under the table says which); the row is
turned into the condition's JSON and checked by the one schema (emails/segments/conditions.py).
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from emails.segments.conditions import (
    KINDS,
    PURCHASE_VALUES,
    SEQUENCE_VALUES,
    STATUS_VALUES,
    Condition,
    clean_condition,
    validate_conditions,
)
from emails.segments.models import Segment

OPTION_KINDS = frozenset({"status", "purchase", "sequence"})
MAX_CONDITIONS = 20
# What each kind reads from its row, for the help under the builder.
INPUTS = {
    "status": "the choice (Status)", "purchase": "the choice (Purchase)", "sequence": "the choice (Sequence)",
    "has_tag": "text: the tag", "lacks_tag": "text: the tag", "time_zone": "text: an IANA zone, e.g. Europe/Berlin",
    "signup_date": "first day and/or last day", "clicked_within": "number: days",
    "no_click_in_last": "number: emails",
    **{kind: "text: the value (empty: none, a direct visit)" for kind in KINDS if kind.startswith("utm_")},
}


def _row_initial(condition: Condition) -> dict[str, Any]:
    kind = condition["kind"]
    initial: dict[str, Any] = {"kind": kind}
    if kind in OPTION_KINDS:
        initial["option"] = condition["value"]
    elif "tag" in condition:
        initial["text"] = condition["tag"]
    elif "value" in condition:
        initial["text"] = condition["value"]
    initial["number"] = condition.get("days") or condition.get("emails")
    initial["after"], initial["before"] = condition.get("after"), condition.get("before")
    return initial


class ConditionForm(forms.Form):
    kind = forms.ChoiceField(required=False, choices=[("", "—"), *((k, kind.label) for k, kind in KINDS.items())])
    option = forms.ChoiceField(required=False, label="Choice", choices=[
        ("", "—"), ("Status", list(STATUS_VALUES.items())), ("Purchase", list(PURCHASE_VALUES.items())),
        ("Sequence", list(SEQUENCE_VALUES.items()))])
    text = forms.CharField(required=False, max_length=100)
    number = forms.IntegerField(required=False, min_value=1)
    after = forms.DateField(required=False, label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateField(required=False, label="Last day", widget=forms.DateInput(attrs={"type": "date"}))

    condition: Condition | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        self.condition = None
        if not kind or self.errors:
            return data  # an empty row is no condition
        after, before = data.get("after"), data.get("before")
        raw = {"kind": kind, "value": data.get("option") if kind in OPTION_KINDS else data.get("text", ""),
               "tag": data.get("text", ""), "days": data.get("number"), "emails": data.get("number"),
               "after": after.isoformat() if after else None, "before": before.isoformat() if before else None}
        try:
            self.condition = clean_condition(raw)
        except ValidationError as exc:
            raise ValidationError(f"{KINDS[kind].label}: {'; '.join(exc.messages)}") from None
        return data


ConditionFormSet = forms.formset_factory(ConditionForm, extra=3, can_delete=True, max_num=MAX_CONDITIONS,
                                         validate_max=True)


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "match"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.condition_forms = ConditionFormSet(
            self.data if self.is_bound else None, prefix="conditions",
            initial=[_row_initial(condition) for condition in self.instance.conditions or []])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.condition_forms.is_valid():
            raise ValidationError("Please correct the conditions below.")
        kept = [form.condition for form in self.condition_forms.forms
                if form.condition is not None and not form.cleaned_data.get("DELETE")]
        data["conditions"] = validate_conditions(kept)
        return data
