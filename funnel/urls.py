from django.urls import URLPattern, URLResolver, path
from django.views.generic import TemplateView

urlpatterns: list[URLPattern | URLResolver] = [
    path("", TemplateView.as_view(template_name="funnel/landing.html"), name="landing"),
]
