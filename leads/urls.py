from django.urls import URLPattern, URLResolver, path

from leads import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/export/", views.preferences_export, name="preferences-export"),
    path("preferences/<str:token>/erase/", views.preferences_erase, name="preferences-erase"),
    # The single-use links mailed when a reader asks for a download or an erasure (leads/privacy_link.py).
    path("privacy/<str:token>/export/", views.privacy_export, name="privacy-export"),
    path("privacy/<str:token>/erase/", views.privacy_erase, name="privacy-erase"),
    path("u/<str:token>/", views.unsubscribe_one_click, name="unsubscribe-one-click"),
    path("u/<str:token>/reason/", views.unsubscribe_reason, name="unsubscribe-reason"),
]
