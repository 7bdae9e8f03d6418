"""The reports app's admin, one module a concern; importing them registers their model admins.

``report`` holds the report page with its moves and actions; ``researchers`` the researcher
records and their re-link; ``thread`` messages and attachments; ``deadlines`` the deadlines;
``saved_replies`` the program's canned answers; ``form_page`` the one-form page the first two
share.
"""

from reports.admin import deadlines, report, researchers, saved_replies, thread

__all__ = ["deadlines", "report", "researchers", "saved_replies", "thread"]
