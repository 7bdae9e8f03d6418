"""The destination a payout's approvals cover, renewed when the researcher changes their payment
details before the payment.

A payout carries the destination its approvals cover (the researcher's payment details when the
award was proposed); when the researcher changes them before the payment, the approvals are void
and an approved or instructed payout goes back to awaiting approval, its batch line void.
"""

from django.utils import timezone

from accounts.history import audited
from accounts.models import User
from bounty import emails
from bounty.models import Payout
from bounty.services.status import NOT_YET_PAID, S, _set_status
from reports.models import Reporter

DESTINATION_CHANGED = "the researcher changed their payment details"


@audited
def renew_payout_destinations(reporter: Reporter, *, acting_user: User | None) -> list[Payout]:
    """Point every not-yet-paid payout of the researcher at their payment details as they are
    now; return the payouts whose destination changed.

    Such a payout's approvals covered another destination: they are void, an approved or
    instructed payout goes back to awaiting approval, and a line of it in a payment batch is
    void, so that the old destination is never paid from the file that carries it.
    """
    now = timezone.now()
    destination = (reporter.payment_method, reporter.payment_details)
    renewed = []
    for payout in (
        Payout.objects.select_for_update(of=("self",))
        .select_related("award__report", "award__proposed_by", "reporter")
        .filter(reporter=reporter, status__in=NOT_YET_PAID)
        .order_by("pk")
    ):
        if (payout.destination_method, payout.destination_details) == destination:
            continue
        _renew_destination(payout, destination, now)
        renewed.append(payout)
    return renewed


def _renew_destination(payout: Payout, destination: tuple[str, str], now) -> None:
    for approval in payout.approvals.filter(voided_at__isnull=True):
        approval.voided_at = now
        approval._change_reason = f"void: {DESTINATION_CHANGED}"
        approval.save(update_fields=["voided_at"])
    for line in payout.batch_lines.filter(voided_at__isnull=True):
        line.voided_at = now
        line.void_reason = f"The payout's destination changed: {DESTINATION_CHANGED}."
        line.save(update_fields=["voided_at", "void_reason"])
    method, details = destination
    fields = {
        "destination_method": method,
        "destination_details": details,
        "destination_renewed_at": now,
        "approved_at": None,
        "instruction_reference": "",
        "instructed_at": None,
    }
    payout._change_reason = f"{DESTINATION_CHANGED}: approvals void, back for approval"
    if payout.status == S.AWAITING_APPROVAL:
        for name, value in fields.items():
            setattr(payout, name, value)
        payout.save()
    else:
        _set_status(payout, S.AWAITING_APPROVAL, **fields)
    emails.mail_payout_destination_changed(payout)
