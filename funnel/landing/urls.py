from django.urls import URLPattern, URLResolver, path

from funnel.landing import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("thanks/", views.thanks, name="signup-thanks"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
]
