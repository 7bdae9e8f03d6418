"""This deployment's security.txt (RFC 9116): where and how to report a vulnerability."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bounty.models import Program
from intake.models import ProgramKey

PORTAL_PATH = "/portal/"
# RFC 9116 asks for an expiry under a year away, so a forgotten deployment stops being trusted.
VALID_FOR = timedelta(days=180)


def absolute_url(path: str) -> str:
    """Return the public URL of a path on this deployment."""
    return f"{settings.SITE_URL}{path}"


def build_security_txt(program: Program, *, now: datetime | None = None) -> str:
    """Return the text of /.well-known/security.txt for the program."""
    now = now or timezone.now()
    expires = (now.astimezone(UTC) + VALID_FOR).replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [
        "# Report security vulnerabilities through the portal or by email.",
        f"# Data region: {settings.DATA_REGION}",
        f"Contact: mailto:{program.contact_email}",
        f"Contact: {absolute_url(PORTAL_PATH)}",
        f"Expires: {expires:%Y-%m-%dT%H:%M:%SZ}",
        f"Policy: {absolute_url(reverse('bounty:security_policy'))}",
        *(
            [f"Encryption: {absolute_url(reverse('bounty:pgp_key'))}"]
            if ProgramKey.objects.filter(is_active=True).exists()
            else []
        ),
        "Preferred-Languages: en",
        f"Canonical: {absolute_url(reverse('bounty:security_txt'))}",
    ]
    return "\n".join(lines) + "\n"
