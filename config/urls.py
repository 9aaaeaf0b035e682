from django.contrib import admin
from django.urls import include, path

from config import health
from emails import outbox
from emails.deliverability.brake_views import sending_brake_page
from emails.deliverability.views import sender_check_page
from funnel.embed.views import signup_snippet_page

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),  # liveness: what a load balancer checks
    path("readyz", health.readyz, name="readyz"),  # each part's state, for operators and monitoring
    path("admin/dashboard/", include("funnel.dashboard.urls")),  # the dashboard: inside the admin, before its catch-all
    path("admin/sender-check/", admin.site.admin_view(sender_check_page), name="admin-sender-check"),
    path("admin/signup-form/", admin.site.admin_view(signup_snippet_page), name="admin-signup-snippet"),
    path("admin/sending-brake/", admin.site.admin_view(sending_brake_page), name="admin-sending-brake"),
    path("admin/", admin.site.urls),
    path("dev/outbox/", include(outbox.urlpatterns)),
    path("", include("leads.urls")),
    path("", include("emails.urls")),
    path("", include("funnel.urls")),
]
