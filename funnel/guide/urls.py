from django.urls import URLPattern, URLResolver, path

from funnel.guide import free, views

# `/guide/free/` is the free quick reference (free.py, owned by the signup area); everything else here is paid.
urlpatterns: list[URLPattern | URLResolver] = [
    path("guide/free/", free.free_guide, name="free-guide"),
    path("guide/", views.guide_index, name="full-guide"),
    path("guide/protocol/", views.guide_protocol, name="guide-protocol"),
    path("guide/tools/", views.guide_tools, name="guide-tools"),
    path("guide/areas/", views.guide_areas, name="guide-areas"),
    path("guide/areas/<slug:slug>/", views.guide_area, name="guide-area"),
    path("guide/mistakes/", views.guide_mistakes, name="guide-mistakes"),
    path("guide/plan/7-days/", views.guide_plan_7, name="guide-plan-7"),
    path("guide/plan/30-days/", views.guide_plan_30, name="guide-plan-30"),
]
