"""The senders whose mail the intake keeps but makes nothing of: an address, or a domain.

Program admins keep the list in the admin (``BlockedSenderAdmin`` calls these functions); the
intake asks ``blocking_entry`` of every mail (``intake.rules``). A blocked mail is still
recorded, raw and encrypted, as ignored with the entry that blocked it, so a mistaken entry
loses nothing: staff can read the mail and lift the block.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.history import audited
from accounts.models import User
from intake.models import BlockedSender

Kind = BlockedSender.Kind
MANAGE_PERMISSION = "intake.add_blockedsender"
_DOMAIN_LABEL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def parse_entry(entry: str) -> tuple[str, str]:
    """Read what staff typed: an address, or a domain (``example.com`` or ``@example.com``).

    Return the kind and the normalised value; raise ValidationError saying what is wrong.
    """
    value = entry.strip().lower()
    if "@" in value and not value.startswith("@"):
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError("This is not an address mail could come from.") from None
        return Kind.ADDRESS, value
    domain = value.removeprefix("@").rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2 or not all(
        label and set(label) <= _DOMAIN_LABEL_CHARS and not label.startswith("-")
        for label in labels
    ):
        raise ValidationError(
            "Give an address (carol@example.com) or a domain (example.com): a domain has a dot "
            "and only letters, digits and hyphens (an international one in its xn-- form)."
        )
    return Kind.DOMAIN, domain


def _domains_of(address: str) -> list[str]:
    """The address's domain and each parent but the last label: mail.example.com blocks by
    mail.example.com or example.com, never by "com"."""
    labels = address.rpartition("@")[2].split(".")
    return [".".join(labels[index:]) for index in range(len(labels) - 1)]


def blocking_entry(address: str) -> BlockedSender | None:
    """Return the entry that blocks mail from ``address``, or None; one query."""
    address = address.strip().lower()
    if not address:
        return None
    return (
        BlockedSender.objects.filter(
            Q(kind=Kind.ADDRESS, address_index__matches=address)
            | Q(kind=Kind.DOMAIN, domain__in=_domains_of(address))
        )
        .order_by("kind", "pk")
        .first()
    )


def already_blocked(entry: str) -> bool:
    """Whether exactly this address or domain has an entry (a domain's address may not)."""
    kind, value = parse_entry(entry)
    if kind == Kind.ADDRESS:
        return BlockedSender.objects.filter(kind=kind, address_index__matches=value).exists()
    return BlockedSender.objects.filter(kind=kind, domain=value).exists()


@audited
def block_sender(*, entry: str, reason: str, acting_user: User) -> BlockedSender:
    """Block an address or a domain; refuse one already blocked, or a reason left empty."""
    if not acting_user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied("Keeping the sender blocklist is a program admin's.")
    kind, value = parse_entry(entry)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why, for whoever reads this entry next.")
    if already_blocked(entry):
        raise ValidationError("This sender is blocked already.")
    blocked = BlockedSender(
        kind=kind,
        address=value if kind == Kind.ADDRESS else "",
        domain=value if kind == Kind.DOMAIN else "",
        reason=reason,
        blocked_by=acting_user,
    )
    try:
        with transaction.atomic():
            blocked.save()
    except IntegrityError:
        raise ValidationError("This sender is blocked already.") from None
    return blocked


@audited
def change_reason(blocked: BlockedSender, *, reason: str, acting_user: User) -> BlockedSender:
    """Say better why a sender is blocked; what is blocked is never edited, only lifted."""
    if not acting_user.has_perm("intake.change_blockedsender"):
        raise PermissionDenied("Keeping the sender blocklist is a program admin's.")
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why, for whoever reads this entry next.")
    blocked.reason = reason
    blocked.save(update_fields=["reason"])
    return blocked


@audited
def unblock(blocked: BlockedSender, *, acting_user: User) -> None:
    """Lift a block: mail from the sender makes reports again (mail ignored so far stays so)."""
    if not acting_user.has_perm("intake.delete_blockedsender"):
        raise PermissionDenied("Keeping the sender blocklist is a program admin's.")
    blocked.delete()
