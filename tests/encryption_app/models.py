"""A model shaped like the ones encryption is for, installed only while the tests run."""

import uuid

from django.db import models
from simple_history.models import HistoricalRecords

from encryption.blind_index import BlindIndexField
from encryption.fields import (
    EncryptedCharField,
    EncryptedEmailField,
    EncryptedFileField,
    EncryptedTextField,
)
from encryption.storage import encrypted_storage


class Dossier(models.Model):
    """A report-like record: a clear title, encrypted text, a findable email and a file."""

    title = models.CharField(max_length=200)
    body = EncryptedTextField()
    notes = EncryptedTextField(blank=True, null=True)
    asset = EncryptedCharField(max_length=40, blank=True)
    contact_email = EncryptedEmailField(blank=True)
    contact_email_index = BlindIndexField(source="contact_email", purpose="email")
    # The row's identity in its encrypted values' associated data (encryption.binding).
    row_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    evidence = EncryptedFileField(upload_to="evidence/", storage=encrypted_storage, blank=True)

    history = HistoricalRecords()

    def __str__(self):
        return self.title
