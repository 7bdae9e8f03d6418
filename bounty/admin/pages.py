"""What the bounty admin's pages share: the rows only the services write, who sees where the
money goes, and the page that shows one form."""

from django.template.response import TemplateResponse


class ReadOnlyInAdmin:
    """The admin shows these rows and never adds, changes or deletes one: the services write
    them, each by its own rules."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def may_see_payment_details(request) -> bool:
    return request.user.has_perm("reports.view_payment_details")


def form_page(request, model_admin, *, title, form, subject="", submit_label="", extra=None):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "subject": subject,
        "form": form,
        "submit_label": submit_label or title,
        **(extra or {}),
    }
    return TemplateResponse(request, "admin/form_page.html", context)
