import pytest
from django.contrib.auth.models import Group

from accounts import roles
from tests.factories import ReporterFactory, StaffFactory, UserFactory

pytest_plugins = ["tests.celery_live"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Deliberately slow hashing protects real passwords; tests only need it to be correct.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _staff_with_role(role, email):
    user = StaffFactory(email=email)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def triager(db):
    return _staff_with_role(roles.TRIAGER, "triager@example.test")


@pytest.fixture
def finance_user(db):
    return _staff_with_role(roles.FINANCE, "finance@example.test")


@pytest.fixture
def second_finance_user(db):
    return _staff_with_role(roles.FINANCE, "finance2@example.test")


@pytest.fixture
def program_admin(db):
    return _staff_with_role(roles.PROGRAM_ADMIN, "programadmin@example.test")


@pytest.fixture
def superuser(db):
    return StaffFactory(email="root@example.test", is_superuser=True)


@pytest.fixture
def researcher(db):
    return ReporterFactory(user=UserFactory(email="alice@example.test")).user


@pytest.fixture
def other_researcher(db):
    return ReporterFactory(user=UserFactory(email="bob@example.test")).user


@pytest.fixture
def program(db):
    from bounty.reference_program import load_reference_program

    return load_reference_program()


@pytest.fixture
def submit(program, researcher):
    """Submit a report as a researcher through the real service, as the portal does."""
    from bounty.models import Category
    from reports import services

    def submit_report(reporter_user=None, **overrides):
        user = reporter_user or researcher
        fields = {
            "title": "Admin API answers without a key",
            "description": "The admin API does not check the master key.",
            "steps_to_reproduce": "1. Start the proxy.\n2. GET /admin/keys without a key.",
            "category": Category.objects.get(code="P1"),
        }
        received_at = overrides.pop("received_at", None)
        fields.update(overrides)
        return services.submit_report(
            reporter=user.reporter,
            submission=services.Submission(**fields),
            acting_user=user,
            received_at=received_at,
        )

    return submit_report
