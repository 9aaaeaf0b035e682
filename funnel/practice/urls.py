from django.urls import URLPattern, URLResolver, path

from funnel.practice import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("app/", views.app_home, name="app"),
    path("app/session/", views.app_session, name="app-session"),
]
