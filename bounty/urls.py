"""Public pages: the security policy and security.txt, open to anyone."""

from django.urls import path

from bounty import views

app_name = "bounty"

urlpatterns = [
    path("security/", views.security_policy, name="security_policy"),
    path("security/pgp-key.txt", views.pgp_key, name="pgp_key"),
    path(".well-known/security.txt", views.security_txt, name="security_txt"),
]
