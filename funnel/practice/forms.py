"""The session form. The same fields serve the plain no-JavaScript checklist and the timed guided run
(JavaScript ticks the same checkboxes and fills the hidden duration fields)."""

from typing import Any

from django import forms

from funnel.guide import content

_MAX_SECONDS = 3 * 3600  # a generous bound on any one step; anything longer is a stuck timer, not practice
PAIN_CHOICES = [(n, str(n)) for n in range(11)]


class SessionForm(forms.Form):
    area = forms.MultipleChoiceField(choices=[(a.slug, a.name) for a in content.AREAS],
                                     widget=forms.MultipleHiddenInput)
    pain_before = forms.TypedChoiceField(choices=PAIN_CHOICES, coerce=int, label="Pain before (0–10)")
    pain_after = forms.TypedChoiceField(choices=PAIN_CHOICES, coerce=int, label="Pain after (0–10)")
    spots = forms.MultipleChoiceField(required=False, choices=[])
    heat_done = forms.BooleanField(required=False)
    heat_minutes = forms.IntegerField(required=False, min_value=0, max_value=180)
    stretches = forms.MultipleChoiceField(required=False, choices=[])
    release_seconds = forms.IntegerField(required=False, min_value=0, max_value=_MAX_SECONDS)
    heat_seconds = forms.IntegerField(required=False, min_value=0, max_value=_MAX_SECONDS)
    stretch_seconds = forms.IntegerField(required=False, min_value=0, max_value=_MAX_SECONDS)

    def __init__(self, *args: Any, areas: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the spots and stretches of the areas on this page are valid answers.
        self.fields["spots"].choices = [(s.slug, s.name) for s in content.spots_for(areas)]  # type: ignore[attr-defined]
        self.fields["stretches"].choices = [(s.slug, s.name) for s in content.stretches_for(areas)]  # type: ignore[attr-defined]

    def heat_seconds_logged(self) -> int:
        """Timed seconds from the app's heat timer, else the minutes typed into the checklist."""
        data = self.cleaned_data
        if data.get("heat_seconds"):
            return int(data["heat_seconds"])
        if data.get("heat_done"):
            minutes = data.get("heat_minutes")
            return (minutes if minutes is not None else content.HEAT_MIN_MINUTES) * 60
        return 0


def chosen_areas(values: list[str]) -> list[str]:
    """Known area slugs from a query string, in the guide's order, each once."""
    wanted = set(values)
    return [area.slug for area in content.AREAS if area.slug in wanted]
