from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from bounty.models import Category, Severity
from bounty.security_txt import PORTAL_PATH, build_security_txt
from bounty.selectors import ProgramNotConfigured, current_program

PLAIN_TEXT = "text/plain; charset=utf-8"
NOT_CONFIGURED = (
    "This security desk has no program configured yet, so it cannot take reports.\n"
    "Its operator can create one in the admin or run `manage.py seed_demo`.\n"
)


@require_safe
def security_policy(request):
    """Show the program's public policy, categories and, when it pays, its bounty table."""
    try:
        program = current_program()
    except ProgramNotConfigured:
        return render(request, "public/program_not_configured.html", status=503)
    categories = Category.objects.filter(is_active=True).select_related("typical_severity")
    severities = Severity.objects.all() if program.bounties_enabled else Severity.objects.none()
    context = {
        "program": program,
        "portal_url": PORTAL_PATH,
        "categories": categories,
        "severities": severities,
    }
    return render(request, "public/security_policy.html", context)


@require_safe
def security_txt(request):
    """Serve /.well-known/security.txt (RFC 9116)."""
    try:
        program = current_program()
    except ProgramNotConfigured:
        return HttpResponse(NOT_CONFIGURED, status=503, content_type=PLAIN_TEXT)
    return HttpResponse(build_security_txt(program), content_type=PLAIN_TEXT)
