"""The lead list as a CSV download: exactly the leads the list shows with its filters and search (a segment, a
source, a status…), every one of them, not one page. Personal data leaving the system, so it needs the same
permission as the data download (`leads.export_lead`), which the view-only "marketing" group does not get."""

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from leads.selectors import lead_csv_rows
from leads.spreadsheet import csv_cell


class _Echo:
    """csv.writer's file: each written line is handed back, to be streamed."""

    def write(self, value: str) -> str:
        return value


class LeadCsvExportMixin:
    """Mixed into LeadAdmin: GET admin/leads/lead/export.csv?<the list's own query string>."""

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.export_csv_view)  # type: ignore[attr-defined]
        return [path("export.csv", view, name="leads_lead_export_csv"),
                *super().get_urls()]  # type: ignore[misc]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = extra_context or {}
        if self.has_export_permission(request):  # type: ignore[attr-defined]
            query = request.GET.urlencode()
            extra_context["export_csv_url"] = reverse("admin:leads_lead_export_csv") + (f"?{query}" if query else "")
        return super().changelist_view(request, extra_context)  # type: ignore[misc, no-any-return]

    def export_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_export_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:leads_lead_changelist") + "?e=1")
        leads = changelist.get_queryset(request)
        writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
        lines: Iterator[str] = (writer.writerow([csv_cell(cell) for cell in row])
                                for row in lead_csv_rows(leads=leads))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="leads_{timezone.now():%Y-%m-%d_%H%M}.csv"'
        return response
