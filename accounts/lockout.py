"""How django-axes counts failed sign-ins (by the login, in one form) and says it locked one."""

from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.shortcuts import render


def attempted_login(request, credentials: dict | None) -> str:
    """Return the address a sign-in attempt was for, lower-cased like the logins themselves.

    allauth passes the address as ``email``, Django's own forms as ``username``; either way an
    attacker who varies the case must not get a fresh set of attempts.
    """
    credentials = credentials or {}
    login = (
        credentials.get("email")
        or credentials.get("username")
        or credentials.get("login")
        or request.POST.get("login", "")
    )
    return str(login).strip().lower()


def locked_out(request, original_response, credentials):
    """Render the lockout page in the site's layout, saying for how long and what else to do."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "axes/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
