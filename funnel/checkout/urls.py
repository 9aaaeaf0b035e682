from django.urls import URLPattern, URLResolver, path

from funnel.checkout import views, webhook

urlpatterns: list[URLPattern | URLResolver] = [
    path("upgrade/<str:token>/", views.upgrade, name="upgrade"),
    path("buy/", views.buy, name="buy"),
    path("checkout/success/", views.success, name="checkout-success"),
    path("checkout/cancel/", views.cancel, name="checkout-cancel"),
    path("webhooks/stripe/", webhook.stripe_webhook, name="stripe-webhook"),
    path("dev/checkout/<str:session_id>/", views.checkout_simulator, name="checkout-simulator"),
    path("signin/", views.signin_request, name="signin"),
    path("signin/<str:token>/", views.signin_magic, name="signin-magic"),
    path("signout/", views.signout, name="signout"),
]
