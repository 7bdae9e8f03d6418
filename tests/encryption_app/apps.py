from django.apps import AppConfig


class EncryptionAppConfig(AppConfig):
    name = "tests.encryption_app"
    label = "encryption_app"
    verbose_name = "Encryption test models"
