"""The admin page that shows one form: a move, an assignment, a re-link, an emailed report."""

from django.template.response import TemplateResponse


def render_form_page(model_admin, request, *, title, form, subject, submit_label="", cancel_url=""):
    """Render one form in the admin's frame; its button says the title unless told otherwise."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "subject": subject,
        "form": form,
        "submit_label": submit_label or title,
        "cancel_url": cancel_url,
    }
    return TemplateResponse(request, "admin/form_page.html", context)
