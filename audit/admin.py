"""History pages that read right for every model: simple-history's, two misreadings fixed.

- A relation that was empty reads "Deleted severity (pk=None)": the diff takes every related row
  it cannot load for a deleted one, an empty relation included. Here it reads "—", as does any
  empty value; a related row that really is gone keeps its "Deleted … (pk=…)".
- A change without a reason, or made by no person (a task, a command), reads "None" in the
  list's columns. The list here leaves the reason blank, names the maker "system", as the
  decisions do, and dates each change with its time zone.
"""

from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

EMPTY = "—"


class ReadableHistoryContext(HistoricalRecordContextHelper):
    """Show an empty value, related or not, as "—" in a history page's list of changes."""

    def prepare_delta_change_value(self, change, value):
        if value is None or (isinstance(value, DeletedObject) and value.pk is None):
            return EMPTY
        return super().prepare_delta_change_value(change, value)


class ReadableHistoryMixin:
    """For a SimpleHistoryAdmin: its history page without "None" and "(pk=None)" (see above)."""

    object_history_list_template = "audit/object_history_list.html"

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContext(self.model, historical_record)
