"""Lead admin: find a person, see their consent and tags, and act on their request (unsubscribe, export, erase).

Only `leads` is imported here (layers). The timeline, "resend welcome" and the segment filter, which need emails
and money, are added by the subclass registered in funnel/admin.py. Tags: leads/admin_tags.py; the list's CSV
download: leads/admin_csv.py.
"""

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from leads import selectors, services
from leads.admin_csv import LeadCsvExportMixin
from leads.admin_tags import LeadTagsAdminMixin, LeadTagsForm
from leads.models import ConsentRecord, Lead, Tag

MAX_EXPORT = 500


class ConfirmedFilter(admin.SimpleListFilter):
    title = "confirmed"
    parameter_name = "confirmed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Confirmed"), ("no", "Not confirmed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        if self.value() == "yes":
            return queryset.filter(confirmed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(confirmed_at__isnull=True)
        return queryset


class ReadOnlyMixin:
    """Records nobody adds, edits or deletes by hand, not even a superuser: proof of consent (append-only), and the
    other areas' money records and copy versions, which their own services write."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentRecordInline(ReadOnlyMixin, admin.TabularInline):
    model = ConsentRecord
    extra = 0
    fields = ("created_at", "action", "consent_version", "consent_text", "ip_address", "user_agent")
    readonly_fields = fields
    can_delete = False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "lead", "consent_version", "ip_address")
    list_filter = ("action", "consent_version")
    search_fields = ("email_sha256",)
    readonly_fields = ("lead", "email_sha256", "action", "consent_version", "consent_text", "ip_address",
                       "user_agent", "created_at")
    list_select_related = ("lead",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Tags are made by tagging a lead (leads/admin_tags.py, an email's link, an import); this lists them."""

    list_display = ("name", "readers", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(reader_count=Count("lead_tags"))

    @admin.display(description="Readers", ordering="reader_count")
    def readers(self, obj: Tag) -> int:
        return obj.reader_count  # type: ignore[attr-defined, no-any-return]


SUNSET_FIELDS = ("marketing_since_click", "sunset_asked_at", "inactive_since")


@admin.register(Lead)
class LeadAdmin(LeadCsvExportMixin, LeadTagsAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "email", "first_name", "status", "is_customer", "utm_source", "created_at",
                    "confirmed_at")
    list_display_links = ("__str__", "email")
    form = LeadTagsForm
    search_fields = ("email", "first_name")
    list_filter = ("status", ("is_customer", admin.BooleanFieldListFilter), "tags", "utm_source", "created_at",
                   ConfirmedFilter, "is_demo")
    ordering = ("-created_at",)
    # The changelist must stay fast at 100,000+ leads: no COUNT(*) of the unfiltered table on every page.
    show_full_result_count = False
    list_per_page = 50
    inlines = [ConsentRecordInline]
    actions = ["tag_add_selected", "tag_remove_selected", "unsubscribe_selected", "export_selected", "erase_selected",
               "lift_suppression"]
    # Suppression changes only through the ESP's events and the "Lift suppression…" action, which asks why.
    readonly_fields = ("tag_names", "created_at", "confirmed_at", "confirm_reminder_sent_at", "unsubscribed_at",
                       "erased_at", "suppression", "suppressed_at", "customer_since", "access_version",
                       "last_sign_in_at", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                       "referrer", "landing_path", "is_demo", *SUNSET_FIELDS)
    fieldsets = (
        (None, {"fields": ("email", "first_name", "status", "time_zone", "is_demo")}),
        ("Dates", {"fields": ("created_at", "confirmed_at", "confirm_reminder_sent_at", "unsubscribed_at",
                              "unsubscribe_reason", "erased_at")}),
        ("Reminders and suppression", {"fields": ("paused_until", "reminders_stopped_at", "suppression",
                                                  "suppressed_at")}),
        # Read-only: the dispatcher, the reader's clicks and the sunset's beat task change them (leads/sunset.py).
        ("Engagement (sunset)", {"fields": SUNSET_FIELDS}),
        ("Buyer", {"fields": ("is_customer", "customer_since", "access_version", "last_sign_in_at")}),
        ("Where they came from", {"fields": ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                                             "referrer", "landing_path")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Lead | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return [*fieldsets, self.tag_fieldset(request, obj)] if obj is not None else fieldsets

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.save_tags(request, obj, form)

    @admin.action(description="Unsubscribe from marketing email", permissions=["change"])
    def unsubscribe_selected(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        done = sum(services.lead_unsubscribe(lead=lead) for lead in queryset)
        self.message_user(request, f"Unsubscribed {done} lead(s); the others already were.", messages.SUCCESS)

    def has_export_permission(self, request: HttpRequest) -> bool:
        # Seeing a lead is not taking their data away: the download is its own permission (README, "Operating it").
        return request.user.has_perm("leads.export_lead")

    @admin.action(description="Export their data (JSON)", permissions=["export"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Lead]) -> HttpResponse | None:
        if queryset.count() > MAX_EXPORT:
            self.message_user(request, f"Export at most {MAX_EXPORT} leads at a time.", messages.ERROR)
            return None
        data = {str(lead.pk): selectors.lead_export(lead=lead) for lead in queryset.prefetch_related("consents")}
        response = HttpResponse(json.dumps(data, indent=2, default=str), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="leads-export.json"'
        return response

    @admin.action(description="Erase their personal data…", permissions=["change"])
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Lead]) -> TemplateResponse | None:
        # Irreversible, so it asks first (like Django's own "delete selected").
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(request, "admin/leads/lead/erase_confirmation.html", {
                **self.admin_site.each_context(request),
                "title": "Erase personal data?",
                "leads": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            })
        done = sum(services.lead_erase(lead=lead) for lead in queryset)
        self.message_user(request, f"Erased {done} lead(s).", messages.SUCCESS)
        return None

    @admin.action(description="Lift suppression (mail them again)…", permissions=["change"])
    def lift_suppression(self, request: HttpRequest, queryset: QuerySet[Lead]) -> TemplateResponse | None:
        # Asks for a reason first: it goes into each lead's timeline with the staff user's name.
        suppressed = queryset.exclude(suppression=Lead.Suppression.NONE)
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("confirmed") != "yes" or not reason:
            return TemplateResponse(request, "admin/leads/lead/lift_suppression.html", {
                **self.admin_site.each_context(request),
                "title": "Lift suppression?",
                "leads": suppressed,
                "missing_reason": request.POST.get("confirmed") == "yes",
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            })
        by = request.user.get_username()
        done = sum(services.lead_suppression_lift(lead=lead, reason=reason, by=by) for lead in suppressed)
        self.message_user(request, f"Lifted the suppression of {done} lead(s). An address the ESP itself "
                          "suppressed (a hard bounce) is reactivated there too where the ESP allows it: each lead's "
                          "timeline says whether it was.", messages.SUCCESS)
        return None
