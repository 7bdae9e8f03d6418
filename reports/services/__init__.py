"""Every change to a report or a researcher's data, one function per use case.

Admin actions, the portal, mail intake and tasks call these functions; nothing else writes a
report's status. ``workflow`` holds the moves of the transition table; ``researchers`` what
researchers bring (reports with files, replies, their account link and payment details);
``thread`` a superuser's rare correction of a message.
"""

from reports.services.researchers import (
    RELINK_PERMISSION,
    NotTheResearcher,
    add_researcher_reply_by_mail,
    add_researcher_reply_with_attachments,
    attach_files,
    is_researchers_address,
    link_reporter_to_user,
    record_intake_note,
    record_report_received_by_email,
    relink_reporter,
    submit_report_received_by_mail,
    submit_report_with_attachments,
    update_payment_details,
    update_pgp_public_key,
)
from reports.services.thread import correct_message, delete_message
from reports.services.workflow import (
    CLOSING_RESOLUTIONS,
    Submission,
    acknowledge_report,
    add_researcher_reply,
    add_staff_message,
    assign_report,
    close_report,
    mark_duplicate,
    reopen_report,
    request_information,
    resolve_report,
    submit_report,
    triage_report,
)

__all__ = [
    "CLOSING_RESOLUTIONS",
    "RELINK_PERMISSION",
    "NotTheResearcher",
    "Submission",
    "acknowledge_report",
    "add_researcher_reply",
    "add_researcher_reply_by_mail",
    "add_researcher_reply_with_attachments",
    "add_staff_message",
    "assign_report",
    "attach_files",
    "close_report",
    "correct_message",
    "delete_message",
    "is_researchers_address",
    "link_reporter_to_user",
    "mark_duplicate",
    "record_intake_note",
    "record_report_received_by_email",
    "relink_reporter",
    "reopen_report",
    "request_information",
    "resolve_report",
    "submit_report",
    "submit_report_received_by_mail",
    "submit_report_with_attachments",
    "triage_report",
    "update_payment_details",
    "update_pgp_public_key",
]
