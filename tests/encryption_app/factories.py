import factory

from tests.encryption_app.models import Dossier


class DossierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dossier

    title = factory.Sequence(lambda n: f"Dossier {n}")
    body = factory.Sequence(lambda n: f"Confidential finding number {n}.")
    contact_email = factory.Sequence(lambda n: f"finder{n}@example.test")
