"""Endpoints and their delivery log in the admin.

The secret is shown once, on the page that answers the creation and on the one that answers "Roll secret", and
never again. Rolling the secret and "Send again" need the change permission on endpoints; view-only staff see the
endpoints and the log, not the buttons (and a POST from them is refused).
"""

from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from webhooks.forms import EndpointForm
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.services import delivery_send_again, endpoint_enable, endpoint_secret_roll
from webhooks.signing import secret_new

CHANGE_PERMISSION = "webhooks.change_endpoint"


def can_press(request: HttpRequest) -> bool:
    return request.user.has_perm(CHANGE_PERMISSION)


def _log_url(endpoint_id: int) -> str:
    return f"{reverse('admin:webhooks_delivery_changelist')}?endpoint__id__exact={endpoint_id}"


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, today
    list_display = ("url", "event_list", "is_active", "failing_since", "disabled_at", "log_link")
    list_filter = ("is_active",)

    @admin.display(description="Events")
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description="Delivery log")
    def log_link(self, obj: Endpoint) -> str:
        return format_html('<a href="{}">Deliveries</a>', _log_url(obj.pk))

    def get_fields(self, request: HttpRequest, obj: Endpoint | None = None) -> tuple[str, ...]:
        return ("url", "description", "events", *(("is_active",) if obj is not None else ()))

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not change:
            obj.secret = secret_new()
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and obj.is_active:
            endpoint_enable(endpoint_id=obj.pk)

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None) -> HttpResponse:
        return self._secret_page(request, obj, obj.secret, created=True)

    def _secret_page(self, request: HttpRequest, endpoint: Endpoint, secret: str, *, created: bool) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "endpoint": endpoint,
                   "secret": secret, "created": created, "title": "The endpoint's signing secret",
                   "change_url": reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])}
        response = TemplateResponse(request, "admin/webhooks/endpoint/secret.html", context)
        response["Cache-Control"] = "no-store"  # the secret stays out of every cache
        return response

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Endpoint | None = None) -> HttpResponse:
        if obj is not None and obj.pk:
            context.update(endpoint=obj, can_press=can_press(request), log_url=_log_url(obj.pk),
                           roll_url=reverse("admin:webhooks_endpoint_roll_secret", args=[obj.pk]))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [path("<int:pk>/roll-secret/", wrap(require_POST(self.roll_secret_view)),
                     name="webhooks_endpoint_roll_secret"),
                *super().get_urls()]

    def roll_secret_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not can_press(request):
            raise PermissionDenied
        endpoint = get_object_or_404(Endpoint, pk=pk)
        secret = endpoint_secret_roll(endpoint_id=endpoint.pk)
        return self._secret_page(request, endpoint, secret, created=False)


def _last_attempt(field: str) -> Subquery:
    return Subquery(DeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-started_at", "-pk")
                    .values(field)[:1])


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only; "Send again" on a delivery's page and as an action."""

    list_display = ("created_at", "endpoint", "event_type", "event_id", "status", "attempts", "last_status",
                    "last_duration", "last_excerpt")
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("event_id",)
    actions = ("send_again_selected",)
    readonly_fields = ("endpoint", "event_type", "event_id", "status", "attempts", "created_at", "next_attempt_at",
                       "delivered_at", "body", "attempt_table")
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("endpoint").annotate(
            last_status_code=_last_attempt("status_code"), last_duration_ms=_last_attempt("duration_ms"),
            last_error=_last_attempt("error"), last_response=_last_attempt("response_excerpt"))

    @admin.display(description="Answer")
    def last_status(self, obj: Any) -> str:
        return str(obj.last_status_code or obj.last_error or "–")

    @admin.display(description="Time taken")
    def last_duration(self, obj: Any) -> str:
        return "–" if obj.last_duration_ms is None else f"{obj.last_duration_ms} ms"

    @admin.display(description="Response")
    def last_excerpt(self, obj: Any) -> str:
        return (obj.last_response or "")[:120]

    @admin.display(description="Attempts")
    def attempt_table(self, obj: Delivery) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((a.started_at.strftime("%Y-%m-%d %H:%M:%S"), "staff" if a.manual else "automatic", a.duration_ms,
              a.status_code or "no answer", "ok" if a.succeeded else a.error or "failed", a.response_excerpt)
             for a in obj.attempt_log.all()))
        return format_html('<table id="attempt-log"><thead><tr><th>Started (UTC)</th><th>By</th><th>Took</th>'
                           "<th>Status</th><th>Outcome</th><th>Response</th></tr></thead><tbody>{}</tbody></table>",
                           rows)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_press(request)  # every field is read-only: "change" here means "send again"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("webhooks.view_delivery") or request.user.has_perm("webhooks.view_endpoint")

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Delivery | None = None) -> HttpResponse:
        if obj is not None:
            context.update(can_press=can_press(request), endpoint_active=obj.endpoint.is_active,
                           send_again_url=reverse("admin:webhooks_delivery_send_again", args=[obj.pk]))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [path("<uuid:pk>/send-again/", wrap(require_POST(self.send_again_view)),
                     name="webhooks_delivery_send_again"),
                *super().get_urls()]

    def send_again_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        if not can_press(request):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery, pk=pk)
        if delivery_send_again(delivery_id=delivery.pk, by=request.user.get_username()):
            messages.success(request, "Queued: it goes out again in a moment. The attempt appears below.")
        else:
            messages.error(request, "The endpoint is disabled: tick “Is active” on it first.")
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[pk]))

    @admin.action(description="Send again", permissions=["change"])
    def send_again_selected(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        by = request.user.get_username()
        queued = sum(delivery_send_again(delivery_id=pk, by=by) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Queued {queued} delivery(ies) to send again; deliveries to a disabled "
                                   "endpoint were left.", messages.SUCCESS)
