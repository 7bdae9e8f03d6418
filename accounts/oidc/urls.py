"""The OpenID Connect URLs, under allauth's names so its templates and redirects find them."""

from allauth.socialaccount import app_settings
from django.urls import include, path

from accounts.oidc import views

urlpatterns = [
    path(
        f"{app_settings.OPENID_CONNECT_URL_PREFIX}/<str:provider_id>/",
        include(
            [
                path("login/", views.login, name="openid_connect_login"),
                path("login/callback/", views.callback, name="openid_connect_callback"),
            ]
        ),
    )
]
