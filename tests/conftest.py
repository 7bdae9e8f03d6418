import pytest
from django.contrib.auth.models import Group

from accounts import roles
from tests.factories import ReporterFactory, StaffFactory, UserFactory


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
