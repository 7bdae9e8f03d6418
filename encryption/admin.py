"""The admin for encrypted models: search through blind indexes, and a log without their values.

Two things the stock ModelAdmin does would go wrong on encrypted fields:

- ``search_fields`` compares text in the database (``icontains``), which ciphertext never
  matches; encrypted fields refuse it. ``blind_index_search_fields`` finds rows whose indexed
  value equals the whole search term instead (an email address, in any case).
- The admin log (django_admin_log, a table in clear) names every object it records by its
  string form, which for a researcher is their name or address. ``EncryptedObjectLogMixin``
  names them by model and id.
"""

import json

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.options import get_content_type_for_model


class BlindIndexSearchMixin:
    """Add rows whose blind-indexed value is exactly the search term to the search results."""

    blind_index_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return super().get_search_results(request, queryset, search_term)
        if self.get_search_fields(request):
            found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        else:
            found, may_have_duplicates = queryset.none(), False
        for path in self.blind_index_search_fields:
            found |= queryset.filter(**{f"{path}__matches": term})
        return found, may_have_duplicates


class EncryptedObjectLogMixin:
    """Record admin changes under the object's model and id, never its (decrypted) string form."""

    def log_addition(self, request, obj, message):
        return _log(request, obj, ADDITION, message)

    def log_change(self, request, obj, message):
        return _log(request, obj, CHANGE, message)

    def log_deletions(self, request, queryset):
        return [_log(request, obj, DELETION, "") for obj in queryset]


def _log(request, obj, action_flag: int, message) -> LogEntry:
    if isinstance(message, list):
        # What ModelAdmin builds lists the changed fields' names, never their values.
        message = json.dumps(message)
    return LogEntry.objects.create(
        user_id=request.user.pk,
        content_type_id=get_content_type_for_model(obj).pk,
        object_id=str(obj.pk),
        object_repr=f"{obj._meta.verbose_name} #{obj.pk}",
        action_flag=action_flag,
        change_message=message,
    )
