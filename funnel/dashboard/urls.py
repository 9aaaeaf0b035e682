"""The dashboard's URLs, mounted at /admin/dashboard/ by config/urls.py (before the admin's own catch-all)."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from funnel.dashboard import broadcast_views, experiment_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", admin.site.admin_view(views.dashboard), name="admin-dashboard"),
    path("<slug:table>.csv", admin.site.admin_view(views.dashboard_csv), name="admin-dashboard-csv"),
    path("experiments/<int:pk>/", admin.site.admin_view(experiment_views.experiment_detail), name="admin-experiment"),
    path("experiments/<int:pk>/promote/", admin.site.admin_view(experiment_views.experiment_promote_view),
         name="admin-experiment-promote"),
    path("broadcasts/", admin.site.admin_view(broadcast_views.broadcast_list), name="admin-broadcasts"),
    path("broadcasts/<int:pk>/", admin.site.admin_view(broadcast_views.broadcast_report),
         name="admin-broadcast-report"),
]
