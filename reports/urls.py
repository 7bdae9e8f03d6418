"""The reporter portal, mounted at /portal/."""

from django.urls import path

from reports import views

app_name = "portal"

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("reports/new/", views.submit_report, name="submit_report"),
    path("reports/<str:public_id>/", views.report_detail, name="report_detail"),
    path("reports/<str:public_id>/reply/", views.reply_to_report, name="reply_to_report"),
    path(
        "reports/<str:public_id>/attachments/<int:attachment_id>/",
        views.download_attachment,
        name="download_attachment",
    ),
    path("payment-details/", views.payment_details, name="payment_details"),
    path("pgp-key/", views.pgp_key, name="pgp_key"),
]
