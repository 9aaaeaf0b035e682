"""The sender check in the admin (/admin/sender-check/): the same lines as `manage.py sender_check`.

Wrapped in `admin.site.admin_view` (config/urls.py): staff only; it shows DNS records, nothing secret, so the view
permission on emails (the "marketing" group has it) is enough. DNS is read on each visit: a fix shows at once.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from emails.deliverability.sender_check import Outcome, sender_report

VIEW_PERMISSION = "emails.view_scheduledemail"


def sender_check_page(request: HttpRequest) -> TemplateResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    report = sender_report()
    context = {
        **admin.site.each_context(request),
        "title": "Sender domain check",
        "report": report,
        "failed": report.count(Outcome.FAIL),
        "unchecked": report.count(Outcome.UNCHECKED),
        "warned": report.count(Outcome.WARN),
    }
    return TemplateResponse(request, "admin/deliverability/sender_check.html", context)
