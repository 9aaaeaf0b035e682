from django.urls import URLPattern, URLResolver, path

from leads import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/export/", views.preferences_export, name="preferences-export"),
    path("preferences/<str:token>/erase/", views.preferences_erase, name="preferences-erase"),
    path("u/<str:token>/", views.unsubscribe_one_click, name="unsubscribe-one-click"),
    path("u/<str:token>/reason/", views.unsubscribe_reason, name="unsubscribe-reason"),
]
