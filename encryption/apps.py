from django.apps import AppConfig


class EncryptionConfig(AppConfig):
    name = "encryption"
    verbose_name = "Encryption at rest"

    def ready(self):
        from encryption.keys import check_master_keys

        # A malformed key found at the first decryption would fail one request at a time, long
        # after a deploy; found here, the process refuses to start at all.
        check_master_keys()
