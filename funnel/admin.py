"""Admin for the money side, plus the lead's admin page extended with what needs emails and money.

`leads/admin.py` may not import emails or funnel (layers), so the lead's timeline and the "resend welcome" action
are added here by re-registering a subclass of its LeadAdmin.
"""

from collections import Counter
from functools import partial
from typing import Any

import stripe
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from emails import services as email_services
from emails.esp_reactivation import hard_bounce_reactivate
from emails.segments.admin import SegmentListFilter
from funnel.checkout.events import stripe_event_process
from funnel.checkout.review import purchase_grant, purchase_refund_held
from funnel.dashboard.timeline import lead_timeline
from funnel.models import CheckoutSession, DailyVisit, PracticeSession, Purchase, StripeEvent
from leads.admin import LeadAdmin, ReadOnlyMixin
from leads.models import Lead


class FunnelLeadAdmin(LeadAdmin):
    change_form_template = "admin/leads/lead/change_form_timeline.html"
    actions = ["resend_welcome", *LeadAdmin.actions]

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A segment (emails) narrows the list, and with it the list's CSV download (leads/admin_csv.py).
        return (SegmentListFilter, *super().get_list_filter(request))

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Lead | None = None) -> HttpResponse:
        if obj is not None:
            context["timeline"] = lead_timeline(lead=obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.action(description="Resend the welcome email", permissions=["change"])
    def resend_welcome(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        # Only people on the list get it again. The sequence's welcome row is one per lead, so the copy goes out as
        # a transactional row; the key makes a double click within the same minute send one email, not two.
        key = f"admin-resend-{timezone.now():%Y%m%d%H%M}"
        sent = 0
        for lead in queryset.filter(status=Lead.Status.SUBSCRIBED):
            email_services.email_queue(lead=lead, step="welcome", key=key)
            sent += 1
        skipped = queryset.count() - sent
        self.message_user(request, f"Welcome email queued for {sent} lead(s)"
                          + (f"; {skipped} skipped (not subscribed)." if skipped else "."), messages.SUCCESS)

    @admin.action(description="Lift suppression (mail them again)…", permissions=["change"])
    def lift_suppression(self, request: HttpRequest, queryset: QuerySet[Lead]) -> TemplateResponse | None:
        # A hard bounce is also on the ESP's own list, which refuses the address until it is reactivated there:
        # once our lift has committed, ask the ESP too (best effort; the outcome goes into the lead's timeline).
        hard_bounced = list(queryset.filter(suppression=Lead.Suppression.HARD_BOUNCE).values_list("pk", flat=True))
        response = super().lift_suppression(request, queryset)
        lifted = Lead.objects.filter(pk__in=hard_bounced, suppression=Lead.Suppression.NONE).values_list("pk",
                                                                                                      flat=True)
        for lead_id in lifted:
            transaction.on_commit(partial(hard_bounce_reactivate, lead_id=lead_id))
        return response


admin.site.unregister(Lead)
admin.site.register(Lead, FunnelLeadAdmin)


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Money and traffic records are written by the webhook and the landing page, never by hand."""


def _reprocess(admin_obj: admin.ModelAdmin, request: HttpRequest, event_ids: list[str]) -> None:
    """Run our webhook handling again for stored Stripe events that are new or failed (after a fix on our side).

    Events already processed are left alone by the service, so reprocessing never fulfils a purchase twice.
    """
    outcomes: Counter[str] = Counter()
    for event_id in event_ids:
        outcomes[stripe_event_process(event_id=event_id) or "nothing to do"] += 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items())) or "no events"
    level = messages.ERROR if outcomes.get(StripeEvent.Status.FAILED) else messages.SUCCESS
    admin_obj.message_user(request, f"Reprocessed: {summary}.", level)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "event_type", "status", "attempts", "livemode", "received_at", "processed_at")
    list_filter = ("status", "event_type", "livemode")
    search_fields = ("event_id",)
    readonly_fields = ("event_id", "event_type", "livemode", "payload", "status", "error", "attempts",
                       "stripe_created_at", "received_at", "processed_at")
    actions = ["reprocess"]
    show_full_result_count = False

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("funnel.change_stripeevent")

    @admin.action(description="Reprocess the selected Stripe events", permissions=["reprocess"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        _reprocess(self, request, list(queryset.values_list("event_id", flat=True)))


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ("stripe_session_id", "lead", "status", "amount", "credited_email", "created_at", "refunded_at")
    list_filter = ("status", "livemode", "created_at")
    search_fields = ("stripe_session_id", "payment_intent_id", "lead__email")
    list_select_related = ("lead", "scheduled_email")
    readonly_fields = ("stripe_session_id", "lead", "scheduled_email", "status", "amount_cents", "currency",
                       "livemode", "payment_intent_id", "review_reason", "created_at", "refunded_at", "disputed_at",
                       "refund_id", "review_outcome", "reviewed_by", "reviewed_at")
    actions = ["reprocess_events", "grant_held", "refund_held"]
    show_full_result_count = False

    @admin.display(description="Amount", ordering="amount_cents")
    def amount(self, obj: Purchase) -> str:
        return f"{obj.amount_cents / 100:.2f} {obj.currency.upper()}"

    @admin.display(description="Credited email")
    def credited_email(self, obj: Purchase) -> str:
        return obj.scheduled_email.step if obj.scheduled_email else "–"

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("funnel.change_stripeevent")

    def has_review_permission(self, request: HttpRequest) -> bool:
        # Deciding on a held purchase moves money or grants access: not for the view-only marketing group.
        return request.user.has_perm("funnel.change_purchase")

    @admin.action(description="Held for review: grant access and send the access email", permissions=["review"])
    def grant_held(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        ids = list(queryset.filter(status=Purchase.Status.REVIEW).values_list("pk", flat=True))
        granted = sum(purchase_grant(purchase_id=pk, user=request.user) for pk in ids)  # type: ignore[arg-type]
        self.message_user(request, f"Access granted for {granted} held purchase(s); "
                          f"{queryset.count() - granted} skipped (not held).", messages.SUCCESS)

    @admin.action(description="Held for review: refund in full through Stripe", permissions=["review"])
    def refund_held(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        ids = list(queryset.filter(status=Purchase.Status.REVIEW).values_list("pk", flat=True))
        refunded = 0
        for pk in ids:
            try:
                refunded += purchase_refund_held(purchase_id=pk, user=request.user)  # type: ignore[arg-type]
            except stripe.StripeError as exc:
                self.message_user(request, f"Purchase {pk}: Stripe refused the refund: {exc}", messages.ERROR)
        self.message_user(request, f"Refunded {refunded} held purchase(s).", messages.SUCCESS)

    @admin.action(description="Reprocess the Stripe events of the selected purchases", permissions=["reprocess"])
    def reprocess_events(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        # The events about a purchase name its checkout session or its payment intent.
        sessions = list(queryset.values_list("stripe_session_id", flat=True))
        intents = [i for i in queryset.values_list("payment_intent_id", flat=True) if i]
        events = StripeEvent.objects.filter(
            Q(payload__data__object__id__in=sessions + intents)
            | Q(payload__data__object__payment_intent__in=intents or [""])
        )
        _reprocess(self, request, list(events.order_by("received_at").values_list("event_id", flat=True)))


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdmin):
    list_display = ("stripe_session_id", "lead", "status", "scheduled_email", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("stripe_session_id", "lead__email")
    list_select_related = ("lead", "scheduled_email")
    show_full_result_count = False


@admin.register(DailyVisit)
class DailyVisitAdmin(ReadOnlyAdmin):
    list_display = ("date", "utm_source", "utm_medium", "utm_campaign", "count")
    fields = list_display  # the day first, as in the list (the model's UTM fields come from its abstract base)
    list_filter = ("utm_source", "date")
    ordering = ("-date",)


@admin.register(PracticeSession)
class PracticeSessionAdmin(ReadOnlyAdmin):
    list_display = ("lead", "local_date", "pain_before", "pain_after", "created_at")
    list_filter = ("local_date",)
    list_select_related = ("lead",)
    show_full_result_count = False


# The import pages (funnel/imports/admin.py) register themselves.
from funnel.imports import admin as _imports_admin  # noqa: E402, F401
