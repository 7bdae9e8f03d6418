"""Check the intake settings where every management command and server start checks them."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from intake.imap import InvalidMailboxURL, parse_mailbox_url


@checks.register("intake")
def check_intake_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Report an INTAKE_IMAP_URL that names no usable mailbox, and settings at odds with it."""
    problems: list[checks.CheckMessage] = []
    address = settings.INTAKE_ADDRESS.strip()
    if address:
        try:
            validate_email(address)
        except ValidationError:
            problems.append(
                checks.Error(
                    f"INTAKE_ADDRESS {address!r} is not an email address.",
                    hint="Give the address researchers write to, e.g. security@example.org.",
                    id="intake.E003",
                )
            )
    if not settings.INTAKE_IMAP_URL:
        return problems
    try:
        url = parse_mailbox_url(settings.INTAKE_IMAP_URL)
    except InvalidMailboxURL as error:
        return [
            *problems,
            checks.Error(
                f"INTAKE_IMAP_URL is malformed: {error}.",
                hint="Leave it empty to turn mail intake off.",
                id="intake.E001",
            ),
        ]
    if url.folder == settings.INTAKE_PROCESSED_FOLDER:
        problems.append(
            checks.Error(
                f"INTAKE_PROCESSED_FOLDER is {url.folder!r}, the folder that is polled.",
                hint="Name another folder, or leave it empty to flag processed mail instead.",
                id="intake.E002",
            )
        )
    if not address:
        problems.append(
            checks.Warning(
                "INTAKE_IMAP_URL is set but INTAKE_ADDRESS is not.",
                hint="Give the published address, so that mail from it is never a report.",
                id="intake.W001",
            )
        )
    return problems
