"""Segments in the admin: built without code (emails/segments/forms.py), with the live count on the segment's page,
a link to its readers in the lead list (the "segment" filter, SegmentListFilter) and to their CSV download.

View-only staff (the "marketing" group) see every segment, its conditions and its count, and can change nothing.
"""

import time
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from emails.segments.conditions import KINDS
from emails.segments.forms import INPUTS, SegmentForm
from emails.segments.models import Segment
from emails.segments.selectors import segment_count, segment_q
from emails.segments.services import segment_save
from leads.models import Lead


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    change_form_template = "admin/emails/segment/change_form.html"
    list_display = ("name", "match", "conditions_in_words", "updated_at", "updated_by")
    search_fields = ("name",)
    readonly_fields = ("conditions_in_words", "updated_at", "updated_by")
    fieldsets = ((None, {"fields": ("name", "match", "conditions_in_words", "updated_at", "updated_by")}),)

    @admin.display(description="Conditions")
    def conditions_in_words(self, obj: Segment) -> str:
        return obj.describe() if obj.pk else "–"

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        segment_save(segment=obj, name=obj.name, match=obj.match, conditions=form.cleaned_data["conditions"],
                     by=request.user.get_username())

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Segment | None = None) -> HttpResponse:
        context["condition_inputs"] = {KINDS[kind].label: inputs for kind, inputs in INPUTS.items()}
        context["condition_forms"] = context["adminform"].form.condition_forms
        if obj is not None and obj.pk:
            started = time.perf_counter()
            context["segment_count"] = segment_count(obj)
            context["count_seconds"] = time.perf_counter() - started
            leads_url = reverse("admin:leads_lead_changelist")
            context["segment_leads_url"] = f"{leads_url}?segment={obj.pk}"
            if request.user.has_perm("leads.export_lead"):
                context["segment_csv_url"] = f"{reverse('admin:leads_lead_export_csv')}?segment={obj.pk}"
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


class SegmentListFilter(admin.SimpleListFilter):
    """The lead list narrowed to a segment's readers now (the segment's own queryset, as broadcasts use)."""

    title = "segment"
    parameter_name = "segment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        if not self.value():
            return queryset
        try:
            segment = Segment.objects.filter(pk=int(str(self.value()))).first()
        except ValueError:
            raise IncorrectLookupParameters("segment must be a segment's id") from None
        if segment is None:
            return queryset.none()
        return queryset.filter(segment_q(segment))
