"""Tags in the lead admin: shown and edited on the lead's page, added or removed on many leads by an action.

Every change goes through leads.services (lead_tag_add / lead_tag_remove), so it lands in the lead's timeline with
the staff user's name. Editing needs the change permission on leads; view-only staff see the tags and no field.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from leads import services
from leads.models import Lead, Tag, TagChange, tag_name_clean

TAG_FIELDS = ("tags_add", "tags_remove")


def _tag_names(value: str) -> list[str]:
    """Comma- or space-separated names, each checked; ValidationError naming the bad ones."""
    names, bad = [], []
    for word in value.replace(",", " ").split():
        try:
            names.append(tag_name_clean(word))
        except ValidationError:
            bad.append(word)
    if bad:
        raise ValidationError(f"Not a tag name: {', '.join(bad)}. Use lower-case letters, digits, - or _.")
    return list(dict.fromkeys(names))


class LeadTagsForm(forms.ModelForm):
    tags_add = forms.CharField(label="Add tags", required=False, max_length=500,
                               help_text="One or more tag names, separated by commas, e.g. interested, webinar-may")
    tags_remove = forms.MultipleChoiceField(label="Remove tags", required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "tags_remove" in self.fields:
            names = self.instance.tags.values_list("name", flat=True)
            self.fields["tags_remove"].choices = [(name, name) for name in names]  # type: ignore[attr-defined]

    def clean_tags_add(self) -> list[str]:
        return _tag_names(self.cleaned_data.get("tags_add", ""))


class TagActionForm(forms.Form):
    tag = forms.CharField(max_length=50)

    def clean_tag(self) -> str:
        return tag_name_clean(self.cleaned_data["tag"])


class LeadTagsAdminMixin:
    """Mixed into LeadAdmin (leads/admin.py), whose form is LeadTagsForm."""

    @admin.display(description="Tags")
    def tag_names(self, obj: Lead) -> str:
        return ", ".join(obj.tags.values_list("name", flat=True)) or "–"

    def tag_fieldset(self, request: HttpRequest, obj: Lead | None) -> tuple[str, dict[str, Any]]:
        editable = obj is not None and self.has_change_permission(request, obj)  # type: ignore[attr-defined]
        return ("Tags", {"fields": ("tag_names", *(TAG_FIELDS if editable else ()))})

    def save_tags(self, request: HttpRequest, lead: Lead, form: forms.Form) -> None:
        by = request.user.get_username()
        for name in form.cleaned_data.get("tags_add") or []:
            services.lead_tag_add(lead=lead, tag=name, source=TagChange.Source.ADMIN, by=by)
        for name in form.cleaned_data.get("tags_remove") or []:
            services.lead_tag_remove(lead=lead, tag=name, source=TagChange.Source.ADMIN, by=by)

    def _tag_action(self, request: HttpRequest, queryset: QuerySet[Lead], *, action: str) -> TemplateResponse | None:
        adding = action == "tag_add_selected"
        form = TagActionForm(request.POST if request.POST.get("confirmed") == "yes" else None)
        if not form.is_valid():
            return TemplateResponse(request, "admin/leads/lead/tag_action.html", {
                **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                "title": "Add a tag" if adding else "Remove a tag",
                "adding": adding, "action": action, "form": form, "leads": queryset,
                "tags": Tag.objects.order_by("name"),
                "opts": Lead._meta, "action_checkbox_name": ACTION_CHECKBOX_NAME,
            })
        name, by = form.cleaned_data["tag"], request.user.get_username()
        change = services.lead_tag_add if adding else services.lead_tag_remove
        done = sum(change(lead=lead, tag=name, source=TagChange.Source.ADMIN, by=by) for lead in queryset)
        verb = "Tagged" if adding else "Removed the tag from"
        self.message_user(request, f"{verb} {done} lead(s) “{name}”; the others "  # type: ignore[attr-defined]
                          f"{'already had it' if adding else 'did not have it'}.", messages.SUCCESS)
        return None

    @admin.action(description="Add a tag…", permissions=["change"])
    def tag_add_selected(self, request: HttpRequest, queryset: QuerySet[Lead]) -> TemplateResponse | None:
        return self._tag_action(request, queryset, action="tag_add_selected")

    @admin.action(description="Remove a tag…", permissions=["change"])
    def tag_remove_selected(self, request: HttpRequest, queryset: QuerySet[Lead]) -> TemplateResponse | None:
        return self._tag_action(request, queryset, action="tag_remove_selected")
