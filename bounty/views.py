from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bounty.models import Category, Severity
from bounty.security_txt import PORTAL_PATH, build_security_txt
from bounty.selectors import ProgramNotConfigured, current_program
from intake.models import ProgramKey

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


# An hour: long enough to spare the desk, short enough that a new key is seen the same day.
PGP_KEY_MAX_AGE = 3600


@require_safe
def pgp_key(request):
    """Serve the program's OpenPGP public key, which security.txt names under Encryption."""
    key = ProgramKey.objects.filter(is_active=True).first()
    if key is None:
        raise Http404("The program has no OpenPGP key.")
    response = HttpResponse(key.public_key, content_type=PLAIN_TEXT)
    response["Content-Disposition"] = 'inline; filename="pgp-key.txt"'
    patch_cache_control(response, public=True, max_age=PGP_KEY_MAX_AGE)
    return response
