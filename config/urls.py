from django.contrib import admin
from django.urls import include, path

from config.health import healthz

admin.site.site_header = "Bounty Desk"
admin.site.site_title = "Bounty Desk"
admin.site.index_title = "Vulnerability reports and bounties"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("portal/", include("reports.urls")),
    path("", include("bounty.urls")),
]
