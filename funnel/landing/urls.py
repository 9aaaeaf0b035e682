from django.urls import URLPattern, URLResolver, path

from funnel.landing import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("thanks/", views.thanks, name="signup-thanks"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Posted from the preferences page (leads), here because it moves the reader's unsent emails too.
    path("preferences/<str:token>/time-zone/", views.preferences_time_zone, name="preferences-time-zone"),
]
