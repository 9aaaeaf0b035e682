from django.urls import URLPattern, URLResolver, path

from funnel.embed import views
from funnel.embed.api import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", api.urls),
    path("embed/signup/", views.embedded_signup, name="embed-signup"),
    # The snippet's page in the admin: config/urls.py mounts it before the admin's catch-all.
]
