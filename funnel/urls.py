"""Each area of the journey owns its URLs."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("funnel.landing.urls")),
    path("", include("funnel.checkout.urls")),
    path("", include("funnel.guide.urls")),
    path("", include("funnel.practice.urls")),
    path("", include("funnel.embed.urls")),  # signups from other sites: the API and the embedded form
    # The conversion dashboard lives inside the admin: config/urls.py mounts funnel.dashboard.urls at /admin/dashboard/.
]
