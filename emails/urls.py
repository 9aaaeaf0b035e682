from django.urls import URLPattern, URLResolver, path

from emails import esp_webhook, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("c/<str:token>/", views.email_click, name="email-click"),
    # Only the configured ESP's tracking webhook (emails/esp_webhook.py); anymail checks ANYMAIL["WEBHOOK_SECRET"]
    # (basic auth), required in production.
    path("anymail/<str:esp>/tracking/", esp_webhook.esp_tracking, name="esp-tracking-webhook"),
]
