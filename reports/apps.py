from django.apps import AppConfig


def link_reporter_on_email_confirmed(sender, request, email_address, **kwargs):
    from reports.services import link_reporter_to_user

    link_reporter_to_user(email_address.user)


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from allauth.account.signals import email_confirmed

        # Confirming an address is when a researcher's earlier emailed reports become theirs.
        email_confirmed.connect(
            link_reporter_on_email_confirmed, dispatch_uid="reports.link_reporter_to_user"
        )
