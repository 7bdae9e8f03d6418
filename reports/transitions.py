"""The single source of truth for how a report may move from one status to another."""

from dataclasses import dataclass
from enum import StrEnum

from reports.models import Report

S = Report.Status


class Move(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    REQUEST_INFORMATION = "request_information"
    ANSWER_INFORMATION_REQUEST = "answer_information_request"
    TRIAGE = "triage"
    MARK_DUPLICATE = "mark_duplicate"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Rule:
    label: str
    allowed_from: frozenset[str]
    # None: the target depends on the report (where it was before, or how far it had got).
    target: str | None


OPEN = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.NEEDS_INFO, S.TRIAGED})

TRANSITIONS: dict[Move, Rule] = {
    Move.ACKNOWLEDGE: Rule("Acknowledge", frozenset({S.SUBMITTED}), S.ACKNOWLEDGED),
    Move.REQUEST_INFORMATION: Rule(
        "Ask the researcher for information",
        frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.TRIAGED}),
        S.NEEDS_INFO,
    ),
    Move.ANSWER_INFORMATION_REQUEST: Rule("Researcher answers", frozenset({S.NEEDS_INFO}), None),
    # Triaging a triaged report again changes its severity and recomputes its deadlines.
    Move.TRIAGE: Rule("Triage", frozenset({S.ACKNOWLEDGED, S.TRIAGED}), S.TRIAGED),
    Move.MARK_DUPLICATE: Rule("Mark as duplicate", OPEN, S.CLOSED),
    Move.RESOLVE: Rule("Resolve as fixed", frozenset({S.TRIAGED}), S.RESOLVED),
    Move.CLOSE: Rule("Close", OPEN, S.CLOSED),
    Move.REOPEN: Rule("Reopen", frozenset({S.RESOLVED, S.CLOSED}), None),
}

STAFF_MOVES = tuple(move for move in Move if move != Move.ANSWER_INFORMATION_REQUEST)


class IllegalMove(Exception):
    """A move that the transition table does not allow from the report's current status."""

    def __init__(self, report: Report, move: Move):
        self.report = report
        self.move = move
        super().__init__(
            f"{TRANSITIONS[move].label} is not possible for {report.public_id}: "
            f"it is {report.get_status_display().lower()}."
        )


def is_allowed(report: Report, move: Move) -> bool:
    return report.status in TRANSITIONS[move].allowed_from


def allowed_staff_moves(report: Report) -> list[Move]:
    return [move for move in STAFF_MOVES if is_allowed(report, move)]


def target_status(report: Report, move: Move) -> str:
    """Return the status ``move`` takes the report to, or raise ``IllegalMove``."""
    if not is_allowed(report, move):
        raise IllegalMove(report, move)
    rule = TRANSITIONS[move]
    if rule.target is not None:
        return rule.target
    if move == Move.ANSWER_INFORMATION_REQUEST:
        return report.status_before_info_request or S.ACKNOWLEDGED
    return S.TRIAGED if report.triaged_at else S.ACKNOWLEDGED
