"""The admin entry of the copy editor: "Email copy versions" in the admin index opens the editor's list of emails.

Versions are never edited, added or deleted through the stock admin forms (they would skip the checks and the
history): every change goes through the editor's pages, registered here under the model's admin URLs.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from emails.content.editor import views
from leads.admin import ReadOnlyMixin


class EmailCopyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["step", "version", "origin", "created_by", "created_at"]
    readonly_fields = ["step", "version", "subject", "preheader", "body", "allow_external_links", "origin", "note",
                       "created_by", "created_at"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return views.copy_list(request)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        editor = [
            path("editor/<slug:step>/", wrap(views.copy_edit), name="emails_copy_edit"),
            path("editor/<slug:step>/preview/", wrap(views.copy_preview_json), name="emails_copy_preview"),
            path("editor/<slug:step>/history/", wrap(views.copy_history), name="emails_copy_history"),
            path("editor/<slug:step>/diff/", wrap(views.copy_diff_view), name="emails_copy_diff"),
            path("editor/<slug:step>/rollback/<int:version>/", wrap(views.copy_rollback_view),
                 name="emails_copy_rollback"),
        ]
        return editor + super().get_urls()
