"""Broadcasts on the dashboard: the list with every report column, and one broadcast's report.

Seeing them needs the permission to view broadcasts (the "marketing" group has it). Sending is on the broadcast's
admin page (emails/broadcasts/admin.py); nothing here changes anything.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from emails.broadcasts.models import Broadcast
from funnel.dashboard.selectors.broadcasts import BroadcastRow, broadcast_reports, recent_broadcasts
from funnel.dashboard.tables import INT, MONEY, cell_text

VIEW_PERMISSION = "emails.view_broadcast"
COLUMNS = ("recipients", "sent", "bounces", "complaints", "unsubscribes", "clicked", "upgrade_clicks", "purchases")


def can_view(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(VIEW_PERMISSION))


def shown(row: BroadcastRow) -> dict[str, object]:
    """One broadcast's cells as the pages show them."""
    return {"row": row, "broadcast": row.broadcast, **{name: cell_text(getattr(row, name), INT) for name in COLUMNS},
            "net": cell_text(row.net_cents, MONEY), "per_recipient": cell_text(row.net_cents_per_recipient, MONEY)}


def broadcast_rows_shown() -> list[dict[str, object]]:
    """The recent broadcasts for the dashboard's own page."""
    return [shown(row) for row in broadcast_reports(recent_broadcasts())]


def broadcast_report(request: HttpRequest, pk: int) -> TemplateResponse:
    if not can_view(request):
        raise PermissionDenied
    broadcast = get_object_or_404(Broadcast.objects.select_related("segment"), pk=pk)
    (row,) = broadcast_reports([broadcast])
    return TemplateResponse(request, "admin/dashboard/broadcast.html", {
        **admin.site.each_context(request), "title": f"Broadcast: {broadcast.name}", "broadcast": broadcast,
        "rows": [shown(row)]})


def broadcast_list(request: HttpRequest) -> TemplateResponse:
    if not can_view(request):
        raise PermissionDenied
    return TemplateResponse(request, "admin/dashboard/broadcasts.html", {
        **admin.site.each_context(request), "title": "Broadcasts",
        "rows": [shown(row) for row in broadcast_reports(Broadcast.objects.select_related("segment"))]})
