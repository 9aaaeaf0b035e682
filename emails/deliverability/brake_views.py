"""The sending brake's admin page (/admin/sending-brake/): its figures, its history, and the release button.

Wrapped in `admin.site.admin_view` (config/urls.py): staff only. Seeing it needs the view permission on the brake
(the view-only "marketing" group has it); releasing needs the change permission, and a reason, which is recorded.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from emails.deliverability import thresholds
from emails.deliverability.brake import (
    brake_latest,
    brake_release,
    brake_summary,
    brake_window,
    brake_window_start,
)
from emails.deliverability.models import SendingBrake

VIEW_PERMISSION = "emails.view_sendingbrake"
RELEASE_PERMISSION = "emails.change_sendingbrake"
HISTORY = 20


class ReleaseForm(forms.Form):
    reason = forms.CharField(
        label="Why is it safe to send again?", min_length=10, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with your name, e.g. the cause found and what was changed.")


@require_http_methods(["GET", "POST"])
def sending_brake_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    can_release = request.user.has_perm(RELEASE_PERMISSION)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST":
        if not can_release:
            raise PermissionDenied
        if form.is_valid():
            released = brake_release(user=request.user, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
            if released is None:
                messages.warning(request, "The brake was not engaged: nothing to resume.")
            else:
                messages.success(request, "Marketing email resumes with the next dispatcher batch.")
            return redirect("admin-sending-brake")
    latest = brake_latest()
    engaged = latest if latest is not None and latest.engaged else None
    # The window as it stands (while engaged: the one that engaged it, with what came in since).
    window = brake_window(since=brake_window_start(latest))
    context = {
        **admin.site.each_context(request),
        "title": "Sending brake",
        "engaged": engaged,
        "summary": brake_summary(engaged) if engaged else "",
        "window": window,
        "window_complaint": window.complaint_rate * 100,
        "window_hard": window.hard_bounce_rate * 100,
        "window_size": settings.DELIVERABILITY_BRAKE_WINDOW,
        "min_sent": settings.DELIVERABILITY_BRAKE_MIN_SENT,
        "complaint_stop": thresholds.COMPLAINT_STOP * 100,
        "hard_bounce_stop": thresholds.HARD_BOUNCE_STOP * 100,
        "history": SendingBrake.objects.select_related("released_by").order_by("-engaged_at", "-pk")[:HISTORY],
        "form": form if engaged and can_release else None,
    }
    return TemplateResponse(request, "admin/deliverability/sending_brake.html", context)

