"""Broadcasts in the admin: add one (a name and a segment), write its email in the copy editor, then send or
schedule it from its send page, which shows the recipient count and asks for it to be confirmed.

Rights: adding a draft needs `emails.add_broadcast`; sending, scheduling and cancelling need `emails.send_broadcast`
("Can send broadcasts"), checked on the POST itself. View-only staff (the "marketing" group) see every broadcast,
its count, its email and its report, and are offered no button. The report is on the dashboard
(funnel/dashboard/broadcast_views.py): `emails` does not read purchases.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from emails.broadcasts.forms import TYPE_BACK_ABOVE, BroadcastSendForm
from emails.broadcasts.models import Broadcast
from emails.broadcasts.selectors import broadcast_audience
from emails.broadcasts.services import (
    BroadcastRefused,
    CountChanged,
    broadcast_cancel,
    broadcast_create,
    broadcast_schedule,
)
from emails.content.checks import copy_problems
from emails.content.editor.selectors import DraftState, step_state
from emails.content.text import text_of

SEND_PERMISSION = "emails.send_broadcast"


def can_send(request: HttpRequest) -> bool:
    return request.user.has_perm(SEND_PERMISSION)


def _report_url(broadcast: Broadcast) -> str:
    try:
        return reverse("admin-broadcast-report", args=[broadcast.pk])
    except NoReverseMatch:  # the dashboard is another area's; the admin must work without it
        return ""


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    change_form_template = "admin/emails/broadcast/change_form.html"
    list_display = ["name", "segment", "state", "when", "recipients", "starts_at", "links"]
    list_select_related = ["segment"]
    readonly_fields = ["status", "when", "starts_at", "recipients", "created_by", "created_at", "scheduled_by",
                       "scheduled_at", "cancelled_by", "cancelled_at"]

    def get_fields(self, request: HttpRequest, obj: Broadcast | None = None) -> Any:
        return ["name", "segment"] if obj is None else ["name", "segment", *self.readonly_fields]

    def has_change_permission(self, request: HttpRequest, obj: Broadcast | None = None) -> bool:
        # Once scheduled, a broadcast is a record: its audience and timing are what its rows say.
        if obj is not None and obj.status != Broadcast.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Broadcast | None = None) -> bool:
        return False  # cancel instead: the rows and the report stay

    @admin.display(description="State")
    def state(self, obj: Broadcast) -> str:
        return obj.state()

    @admin.display(description="When")
    def when(self, obj: Broadcast) -> str:
        if obj.timing == Broadcast.Timing.LOCAL:
            return f"{obj.local_hour:02d}:00 on each reader's clock, {obj.local_date}"
        if obj.send_at:
            return f"{obj.send_at:%Y-%m-%d %H:%M} UTC"
        return "–"

    @admin.display(description="Email and report")
    def links(self, obj: Broadcast) -> str:
        report = _report_url(obj)
        return format_html('<a href="{}">email</a>{}', reverse("admin:emails_copy_edit", args=[obj.step]),
                           format_html(' · <a href="{}">report</a>', report) if report else "")

    def save_model(self, request: HttpRequest, obj: Broadcast, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name", "segment"])
            return
        created = broadcast_create(name=obj.name, segment=obj.segment, user=request.user)
        obj.pk, obj.created_by, obj.created_at = created.pk, created.created_by, created.created_at
        obj._state.adding = False

    def response_add(self, request: HttpRequest, obj: Broadcast, post_url_continue: str | None = None) -> Any:
        messages.success(request, f"Broadcast “{obj.name}” created. Write its email, publish it, then send it.")
        return HttpResponseRedirect(reverse("admin:emails_copy_edit", args=[obj.step]))

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Broadcast | None = None) -> HttpResponse:
        if obj is not None and obj.pk:
            context.update(self._page(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _page(self, request: HttpRequest, broadcast: Broadcast) -> dict[str, Any]:
        """What the change page and the send page show about a broadcast: its audience, its copy, its links."""
        current, draft, _experiment = step_state(broadcast.step)
        problems = copy_problems(broadcast.step, text_of(current)) if current else {"body": ["No copy published."]}
        return {
            "broadcast": broadcast,
            "audience_count": broadcast_audience(broadcast).count() if broadcast.status == Broadcast.Status.DRAFT
            else None,
            "copy": current, "copy_problems": problems, "draft_state": DraftState(draft, current),
            "edit_url": reverse("admin:emails_copy_edit", args=[broadcast.step]),
            "send_url": reverse("admin:emails_broadcast_send", args=[broadcast.pk]),
            "cancel_url": reverse("admin:emails_broadcast_cancel", args=[broadcast.pk]),
            "report_url": _report_url(broadcast),
            "can_send": can_send(request), "cancellable": broadcast.cancellable(),
        }

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/send/", wrap(self.send_view), name="emails_broadcast_send"),
            path("<int:pk>/cancel/", wrap(require_POST(self.cancel_view)), name="emails_broadcast_cancel"),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: the count and the timing form (view-only staff see it without the button). POST: schedule."""
        broadcast = get_object_or_404(Broadcast.objects.select_related("segment"), pk=pk)
        if not self.has_view_permission(request, broadcast):
            raise PermissionDenied
        status = 200
        if request.method == "POST":
            if not can_send(request):
                raise PermissionDenied
            form = BroadcastSendForm(request.POST)
            if form.is_valid():
                try:
                    created = broadcast_schedule(broadcast=broadcast, when=form.send_time(), user=request.user,
                                                 confirmed_count=form.cleaned_data["confirmed_count"])
                except BroadcastRefused as refused:
                    messages.error(request, str(refused))
                    status = 409 if isinstance(refused, CountChanged) else 400
                else:
                    broadcast.refresh_from_db()
                    messages.success(request, f"Scheduled: {created} emails, the first at "
                                              f"{broadcast.starts_at:%Y-%m-%d %H:%M} UTC. You can cancel it until "
                                              "then.")
                    return HttpResponseRedirect(reverse("admin:emails_broadcast_change", args=[pk]))
            else:
                status = 400
        page = self._page(request, broadcast)
        count = page["audience_count"]
        # The form always carries the count shown on this page, so what is confirmed is what was seen.
        data = request.POST.copy() if request.method == "POST" else None
        if data is not None:
            data["confirmed_count"] = str(count)
        form = BroadcastSendForm(data, initial={"confirmed_count": count})
        if data is not None:
            form.is_valid()
        context = {**self.admin_site.each_context(request), **page, "opts": self.model._meta, "form": form,
                   "title": f"Send “{broadcast.name}”", "type_back": count is not None and count > TYPE_BACK_ABOVE,
                   "type_back_above": TYPE_BACK_ABOVE}
        return TemplateResponse(request, "admin/emails/broadcast/send.html", context, status=status)

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not can_send(request):
            raise PermissionDenied
        broadcast = get_object_or_404(Broadcast, pk=pk)
        try:
            skipped = broadcast_cancel(broadcast=broadcast, user=request.user)
        except BroadcastRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"Cancelled: none of its {skipped} emails will be sent.")
        return HttpResponseRedirect(reverse("admin:emails_broadcast_change", args=[pk]))
