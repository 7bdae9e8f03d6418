"""The moves of a payout's status, and the checks every payout use case shares.

A payout moves awaiting approval -> approved -> instructed -> paid, or is rejected; NEXT_STATUSES
is the single source of truth for those moves and nothing else writes a payout's status: every
move goes through ``_set_status``, which records it with its actor. Approving and paying lock the
payout's row (``_locked``) and re-check its status under the lock, so two clicks, two finance users
or two workers acting at once change it once.
"""

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.history import actor_label, history_user_of
from accounts.models import User
from bounty.models import Payout, PayoutStatusChange

PROPOSE_PERMISSION = "bounty.add_award"
APPROVE_PERMISSION = "bounty.approve_payout"
PAY_PERMISSION = "bounty.pay_payout"

S = Payout.Status
NEXT_STATUSES: dict[str, frozenset[str]] = {
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.REJECTED}),
    # Back to awaiting approval: the researcher changed their payment details before the payment.
    S.APPROVED: frozenset({S.INSTRUCTED, S.AWAITING_APPROVAL}),
    S.INSTRUCTED: frozenset({S.PAID, S.AWAITING_APPROVAL}),
    S.PAID: frozenset(),
    S.REJECTED: frozenset(),
}
NOT_YET_PAID = (S.AWAITING_APPROVAL, S.APPROVED, S.INSTRUCTED)


class IllegalPayoutMove(Exception):
    """A payout status change that NEXT_STATUSES does not allow from the payout's status."""

    def __init__(self, payout: Payout, status: str):
        self.payout = payout
        self.status = status
        super().__init__(
            f"Payout {payout.pk} is {payout.get_status_display().lower()}: "
            f"it cannot become {S(status).label.lower()}."
        )


def _check_move(payout: Payout, status: str) -> None:
    if status not in NEXT_STATUSES[payout.status]:
        raise IllegalPayoutMove(payout, status)


def _set_status(payout: Payout, status: str, *, reason: str = "", **fields) -> None:
    _check_move(payout, status)
    previous = payout.status
    payout.status = status
    for name, value in fields.items():
        setattr(payout, name, value)
    payout.save()
    # Whoever the history row names decided: the service's acting user, or nobody in a task.
    actor = history_user_of(payout)
    PayoutStatusChange.objects.create(
        payout=payout,
        from_status=previous,
        to_status=status,
        acting_user=actor,
        actor=actor_label(actor),
        at=payout.updated_at,
        reason=reason or getattr(payout, "_change_reason", ""),
    )


def _as_system(payout: Payout, reason: str) -> None:
    # No person acts in a task or a sweep: the history names no user, and says so.
    payout._history_user = None
    payout._change_reason = f"system: {reason}"


def _locked(payout: Payout | int) -> Payout:
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    return (
        Payout.objects.select_for_update(of=("self",))
        .select_related("award__report", "award__proposed_by", "reporter")
        .get(pk=getattr(payout, "pk", payout))
    )


def _require_permission(user: User | None, permission: str, what: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(f"You may not {what}.")


def _require_text(value: str, what: str, *, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{what} is required.", code="required")
    if max_length is not None and len(value) > max_length:
        raise ValidationError(f"{what} is at most {max_length} characters.", code="too_long")
    return value
