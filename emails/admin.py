"""Admin for the outbox: status, retries, a per-lead schedule inline, previews and test sends of any step."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.mail import get_connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from emails.models import (
    FOLLOW_UP_STEPS,
    SEQUENCE_STEPS,
    SUNSET_STEP,
    Click,
    EmailEvent,
    ScheduledEmail,
    is_marketing_step,
)
from emails.preview import build_test_message, render_email_preview
from emails.services import email_retry
from emails.tracking import rows_with_acceptance_evidence
from leads.models import Lead

PREVIEW_STEPS = [*SEQUENCE_STEPS, "confirm", "confirm-reminder", "access", "signin", "payment-failed",
                 "order-waiting", "privacy-link", "already-yours", "duplicate-refunded", "order-review",
                 *FOLLOW_UP_STEPS, SUNSET_STEP]


class EmailEventInline(admin.TabularInline):
    model = EmailEvent
    extra = 0
    can_delete = False
    fields = ["event_type", "occurred_at", "description", "event_id"]
    readonly_fields = ["event_type", "occurred_at", "description", "event_id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PreviewForm(forms.Form):
    # A lead id, not a drop-down: with 100,000 leads a <select> would make this page the slowest in the admin.
    lead = forms.ModelChoiceField(queryset=Lead.objects.exclude(email=None), widget=forms.NumberInput,
                                  help_text="Lead id (see the lead list)")
    step = forms.ChoiceField(choices=[(s, s) for s in PREVIEW_STEPS])
    send_to = forms.EmailField(required=False, help_text="Send a test of this step to this address")


@admin.register(ScheduledEmail)
class ScheduledEmailAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "step", "stream", "send_at", "status", "attempts", "sent_at", "skip_reason"]
    list_filter = ["status", "stream", "step"]
    search_fields = ["lead__email", "esp_message_id", "=id"]
    date_hierarchy = "send_at"
    list_select_related = ["lead"]
    raw_id_fields = ["lead"]
    readonly_fields = ["lead", "step", "stream", "key", "context", "status", "attempts", "lease_until",
                       "claimed_by", "handed_at", "sent_at", "esp_message_id", "skip_reason", "last_error",
                       "created_at", "updated_at", "preview_links"]
    fields = ["send_at", *readonly_fields]
    inlines = [EmailEventInline]
    actions = ["retry_rows"]

    @admin.action(description="Retry selected failed or unknown emails now", permissions=["change"])
    def retry_rows(self, request: HttpRequest, queryset: QuerySet[ScheduledEmail]) -> None:
        count = email_retry(row_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} email(s) rescheduled for now.", messages.SUCCESS)
        # What is still failed or unknown now was refused for its acceptance evidence.
        accepted = sorted(rows_with_acceptance_evidence(queryset.filter(
            status__in=[ScheduledEmail.Status.FAILED, ScheduledEmail.Status.UNKNOWN]).values_list("pk", flat=True)))
        if accepted:
            # Sending these again could deliver the same email twice.
            self.message_user(request, f"Not retried: the ESP already accepted {len(accepted)} email(s) (rows "
                              f"{', '.join(f'#{pk}' for pk in accepted)}); see their events.", messages.WARNING)

    @admin.display(description="preview")
    def preview_links(self, obj: ScheduledEmail) -> str:
        if not obj.pk:
            return "-"
        base = reverse("admin:emails_preview_row", args=[obj.pk])
        return format_html('<a href="{}?part=html" target="_blank">HTML</a> · <a href="{}?part=text" '
                           'target="_blank">text</a>', base, base)

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="emails_preview"),
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_row_view), name="emails_preview_row"),
        ]
        return extra + super().get_urls()

    def has_test_send_permission(self, request: HttpRequest) -> bool:
        # A test send mails our content to any address: for staff who may change the outbox, not view-only staff.
        return self.has_change_permission(request)

    def _rendered_response(self, lead: Lead, row: ScheduledEmail, part: str) -> HttpResponse:
        # Every staff user, superusers included, sees inert links: a preview must never let anyone act as the lead.
        rendered = render_email_preview(lead, row)
        if part == "text":
            return HttpResponse(f"Subject: {rendered.subject}\n\n{rendered.text}", content_type="text/plain")
        response = HttpResponse(rendered.html)
        response["Content-Security-Policy"] = "script-src 'none'"
        return response

    def preview_row_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        row = get_object_or_404(ScheduledEmail.objects.select_related("lead"), pk=pk)
        return self._rendered_response(row.lead, row, request.GET.get("part", "html"))

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Render any step for any lead (unsaved row, so nothing is queued), or send it as a test."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        form = PreviewForm(request.POST or request.GET or None)
        if form.is_valid():
            lead, step = form.cleaned_data["lead"], form.cleaned_data["step"]
            row = ScheduledEmail(lead=lead, step=step, stream=ScheduledEmail.Stream.MARKETING
                                 if is_marketing_step(step) else ScheduledEmail.Stream.TRANSACTIONAL)
            if request.method == "POST" and form.cleaned_data["send_to"]:
                if not self.has_test_send_permission(request):
                    return HttpResponse(status=403)
                build_test_message(lead, row, to=form.cleaned_data["send_to"], connection=get_connection()).send()
                self.message_user(request, f"Test of {step} sent to {form.cleaned_data['send_to']}.",
                                  messages.SUCCESS)
            elif request.GET.get("part") in ("html", "text"):
                return self._rendered_response(lead, row, request.GET["part"])
        context = {**self.admin_site.each_context(request), "title": "Preview or test-send an email",
                   "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/emails/preview.html", context)


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    list_display = ["event_type", "occurred_at", "scheduled_email", "lead", "esp_message_id"]
    list_filter = ["event_type"]
    search_fields = ["event_id", "esp_message_id"]
    raw_id_fields = ["scheduled_email", "lead"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    list_display = ["target", "created_at", "scheduled_email", "lead"]
    list_filter = ["target"]
    raw_id_fields = ["scheduled_email", "lead"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The sequence's timing (send hour, days between reminders): its own module, registered here with the app's admin.
from emails.content.models import SequenceSettings  # noqa: E402
from emails.content.settings_admin import SequenceSettingsAdmin  # noqa: E402

admin.site.register(SequenceSettings, SequenceSettingsAdmin)

# The copy editor (subject, preheader, body; drafts, versions, diff, rollback): its own package, entered here.
from emails.content.editor.admin import EmailCopyAdmin  # noqa: E402
from emails.content.models import EmailCopy  # noqa: E402

admin.site.register(EmailCopy, EmailCopyAdmin)

# Experiments (A/B tests of one email, decided by purchases): registered by their own module on import.
# Broadcasts (one email to a segment, sent as rows by the dispatcher): registered by their own module on import.
from emails.broadcasts import admin as broadcasts_admin  # noqa: E402, F401
from emails.experiments import admin as experiments_admin  # noqa: E402, F401

# Segments (saved filters over leads, with a live count): registered by their own module on import.
from emails.segments import admin as segments_admin  # noqa: E402, F401
