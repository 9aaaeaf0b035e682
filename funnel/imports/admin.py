"""Imports in the admin: upload → preview and column mapping → dry run (report) → import (progress) → undo.

Uploading, importing and undoing need `leads.import_leads`; staff with the view permission see every import, its
counts and progress, but not the addresses (the report download is personal data leaving the system).
"""

import csv
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from funnel.imports.services import import_check, import_start, import_undo
from leads.imports import services as imports
from leads.imports.csvfile import MAX_FILE_BYTES, ImportFileError
from leads.imports.models import FIELDS, LeadImport, LeadImportRow
from leads.imports.selectors import import_report_rows
from leads.spreadsheet import csv_cell

IMPORT_PERMISSION = "leads.import_leads"
PREVIEW_ROWS = 10


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, the first line naming the columns (email, first "
                                                       "name, time zone, tags, consent date, consent source, "
                                                       "consent IP).")


class MappingForm(forms.Form):
    enrol = forms.BooleanField(label="Start the 7-day sequence for the rows that come in confirmed", required=False)

    def __init__(self, *args: Any, columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— not in the file —"), *((column, column) for column in columns)]
        for name, label in FIELDS.items():
            self.fields[name] = forms.ChoiceField(label=label, choices=choices, required=name == "email")
        self.order_fields([*FIELDS, "enrol"])


class _Echo:
    def write(self, value: str) -> str:
        return value


class LeadImportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "created_by", "created_at", "total_rows", "progress")
    list_filter = ("status",)

    @admin.display(description="Progress")
    def progress(self, obj: LeadImport) -> str:
        return f"{obj.cursor:,} / {obj.total_rows:,}" if obj.status != LeadImport.Status.UPLOADED else "–"

    def may_import(self, request: HttpRequest) -> bool:
        return request.user.has_perm(IMPORT_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.may_import(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an import changes only through its own steps (below)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # undo, not delete: the report is the record of what happened

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or self.may_import(request)

    def get_urls(self) -> list[URLPattern]:
        report = self.admin_site.admin_view(self.report_view)
        return [path("<int:object_id>/report.csv", report, name="leads_leadimport_report"), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        if not self.may_import(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                lead_import = imports.lead_import_create(data=upload.read(MAX_FILE_BYTES + 1), file_name=upload.name,
                                                         by=request.user.get_username())
            except ImportFileError as error:
                form.add_error("file", str(error))
            else:
                return HttpResponseRedirect(reverse("admin:leads_leadimport_change", args=[lead_import.pk]))
        return TemplateResponse(request, "admin/leads/leadimport/upload.html", {
            **self.admin_site.each_context(request), "title": "Import leads from a CSV file", "form": form,
            "opts": LeadImport._meta})

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        lead_import = get_object_or_404(LeadImport, pk=object_id)
        if not self.has_view_permission(request, lead_import):
            raise PermissionDenied
        columns = list(lead_import.columns)
        initial = {**lead_import.mapping, "enrol": lead_import.enrol}
        form = MappingForm(initial=initial, columns=columns)
        if request.method == "POST":
            if not self.may_import(request):
                raise PermissionDenied
            step = request.POST.get("step")
            if step == "dry_run":
                form = MappingForm(request.POST, columns=columns)
                if form.is_valid():
                    return self._dry_run(request, lead_import, form)
            elif step == "import":
                if import_start(lead_import=lead_import):
                    self.message_user(request, "The import has started.", messages.SUCCESS)
                return HttpResponseRedirect(request.path)
            elif step == "undo":
                return self._undo(request, lead_import)
        return TemplateResponse(request, "admin/leads/leadimport/detail.html", {
            **self.admin_site.each_context(request), "title": str(lead_import), "lead_import": lead_import,
            "opts": LeadImport._meta, "form": form, "may_import": self.may_import(request),
            "may_download": self._may_download(request),
            "preview": self._preview(lead_import), "dry_run_counts": self._counts(lead_import.dry_run_counts),
            "counts": self._counts(lead_import.counts), "kept": self._kept(lead_import),
            "refresh": lead_import.status in (LeadImport.Status.CHECKING, LeadImport.Status.QUEUED,
                                              LeadImport.Status.RUNNING),
            "Status": LeadImport.Status})

    def _dry_run(self, request: HttpRequest, lead_import: LeadImport, form: MappingForm) -> HttpResponse:
        mapping = {name: form.cleaned_data.get(name, "") for name in FIELDS}
        try:
            import_check(lead_import=lead_import, mapping=mapping, enrol=form.cleaned_data["enrol"])
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        return HttpResponseRedirect(request.path)

    def _undo(self, request: HttpRequest, lead_import: LeadImport) -> HttpResponse:
        try:
            removed, kept = import_undo(lead_import=lead_import, by=request.user.get_username())
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, f"Removed {removed:,} imported lead(s); kept {len(kept):,} who did "
                                       "something since (listed below).", messages.SUCCESS)
        return HttpResponseRedirect(request.path)

    def _may_download(self, request: HttpRequest) -> bool:
        return self.may_import(request) or request.user.has_perm("leads.export_lead")

    @staticmethod
    def _preview(lead_import: LeadImport) -> list[list[str]]:
        if not lead_import.content:
            return []
        return [record.cells for record in islice(imports.import_records(lead_import), PREVIEW_ROWS)]

    @staticmethod
    def _counts(counts: dict[str, int]) -> list[tuple[str, int]]:
        return [(label, counts[value]) for value, label in LeadImportRow.Outcome.choices if counts.get(value)]

    @staticmethod
    def _kept(lead_import: LeadImport) -> list[LeadImportRow]:
        if lead_import.status != LeadImport.Status.UNDONE:
            return []
        return list(LeadImportRow.objects.filter(lead_import=lead_import, dry_run=False).exclude(kept="")
                    .select_related("lead")[:500])

    def report_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        if not self._may_download(request):
            raise PermissionDenied
        lead_import = get_object_or_404(LeadImport, pk=object_id)
        dry_run = request.GET.get("of") != "import"
        writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
        lines: Iterator[str] = (writer.writerow([csv_cell(cell) for cell in row])
                                for row in import_report_rows(lead_import=lead_import, dry_run=dry_run))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        name = f"import_{lead_import.pk}_{'dry_run' if dry_run else 'report'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


admin.site.register(LeadImport, LeadImportAdmin)
