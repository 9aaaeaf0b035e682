from django.urls import URLPattern, URLResolver, include, path

from emails import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("c/<str:token>/", views.email_click, name="email-click"),
    # ESP tracking webhooks; anymail checks ANYMAIL["WEBHOOK_SECRET"] (basic auth), required in production.
    path("anymail/", include("anymail.urls")),
]
