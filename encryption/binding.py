"""Where an encrypted value belongs: the associated data that ties a ciphertext to its place.

Every encrypted value and file is sealed with the model it belongs to, its field and its row
as associated data, so a ciphertext copied in SQL onto another row, into another column or
onto another attachment's file fails to authenticate instead of decrypting cleanly.

The row is named by a random ``row_key`` (a UUID column every model with encrypted fields
declares, checked as encryption.E002), not by its primary key: the key exists before the
INSERT that assigns the primary key, it is the same in every database the row is restored or
copied into, and it is not reused when a row is deleted.

A history row (django-simple-history) records a version of its object: it carries the
object's row key and is bound to the object's model, so history keeps decrypting the values it
copied, while a history value pasted onto another object's row does not.
"""

import uuid
from dataclasses import dataclass

from django.db import models

ROW_KEY = "row_key"
# simple-history names a model's history "Historical<Model>"; migrations see only that name,
# not the instance_type attribute the real history class carries.
_HISTORY_PREFIX = "Historical"
_HISTORY_FIELDS = ("history_id", "history_type", "history_date")


@dataclass(frozen=True)
class Binding:
    """One encrypted value's place: model, field and row."""

    model_label: str
    field_name: str
    row_key: uuid.UUID

    def associated_data(self) -> bytes:
        # Unambiguous: labels and field names hold no NUL byte, and the key has a fixed length.
        label, field = self.model_label.encode(), self.field_name.encode()
        return b"\0".join([b"bounty-desk", label, field, self.row_key.bytes])


class UnboundRowError(ValueError):
    """A value to encrypt for a row that has no row key yet."""


def bound_label(model: type[models.Model]) -> str:
    """Return the label values of ``model`` are bound to: the recorded model's, for history.

    A proxy model reads and writes its concrete model's rows, so it binds to that model's label.
    """
    recorded = getattr(model, "instance_type", None)
    if recorded is not None:
        return recorded._meta.concrete_model._meta.label
    meta = model._meta.concrete_model._meta
    names = {field.name for field in meta.get_fields()}
    if meta.object_name.startswith(_HISTORY_PREFIX) and names.issuperset(_HISTORY_FIELDS):
        return f"{meta.app_label}.{meta.object_name.removeprefix(_HISTORY_PREFIX)}"
    return meta.label


def binding_for(model: type[models.Model], field_name: str, row_key) -> Binding:
    """Return the binding of ``field_name`` in the row of ``model`` whose row key is ``row_key``."""
    if row_key is None:
        raise UnboundRowError(
            f"{model._meta.label} field {field_name}: the row has no {ROW_KEY}, so its encrypted "
            "values have no place to be bound to"
        )
    if not isinstance(row_key, uuid.UUID):
        row_key = uuid.UUID(str(row_key))
    return Binding(bound_label(model), field_name, row_key)


def binding_of(instance: models.Model, field_name: str) -> Binding:
    """Return the binding of ``field_name`` in ``instance``'s row."""
    return binding_for(type(instance), field_name, getattr(instance, ROW_KEY, None))
