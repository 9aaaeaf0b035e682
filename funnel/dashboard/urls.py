"""The dashboard's URLs, mounted at /admin/dashboard/ by config/urls.py (before the admin's own catch-all)."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from funnel.dashboard import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", admin.site.admin_view(views.dashboard), name="admin-dashboard"),
    path("<slug:table>.csv", admin.site.admin_view(views.dashboard_csv), name="admin-dashboard-csv"),
]
