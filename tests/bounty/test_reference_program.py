from decimal import Decimal

import pytest
from django.db import IntegrityError

from bounty.models import Category, Program, Severity
from bounty.reference_program import load_reference_program
from bounty.selectors import ProgramNotConfigured, current_program

pytestmark = pytest.mark.django_db


def test_the_reference_program_promises_a_follow_up_within_five_business_days():
    program = load_reference_program()

    assert program.first_response_business_days == 5
    assert program.bounties_enabled


def test_the_reference_program_names_four_categories_with_their_typical_severity():
    load_reference_program()

    assert {c.code: (c.name, c.typical_severity.name) for c in Category.objects.all()} == {
        "P0": ("Supply chain attack", "Critical"),
        "P1": ("Unauthenticated proxy access", "High"),
        "P2": ("Authenticated privilege escalation", "Medium"),
        "P3": ("Minor information disclosure / low-impact misconfiguration", "Low"),
    }


def test_the_bounty_table_is_loaded_in_usd():
    load_reference_program()

    assert {s.name: (s.award_min, s.award_max, s.currency) for s in Severity.objects.all()} == {
        "Critical": (Decimal("1500"), Decimal("3000"), "USD"),
        "High": (Decimal("500"), Decimal("1500"), "USD"),
        "Medium": (Decimal("250"), Decimal("500"), "USD"),
        "Low": (Decimal("50"), Decimal("250"), "USD"),
    }


def test_severities_rank_critical_highest():
    load_reference_program()

    assert list(Severity.objects.values_list("name", flat=True)) == [
        "Critical",
        "High",
        "Medium",
        "Low",
    ]


def test_loading_again_keeps_a_program_admins_edits():
    program = load_reference_program()
    program.bounties_enabled = False
    program.save()

    load_reference_program()

    assert Program.objects.get().bounties_enabled is False
    assert Program.objects.count() == 1


def test_a_deployment_has_at_most_one_program():
    load_reference_program()

    with pytest.raises(IntegrityError):
        Program.objects.create(name="Second", policy="-", contact_email="x@example.test")


def test_without_a_program_the_selector_says_how_to_create_one():
    with pytest.raises(ProgramNotConfigured, match="seed_demo"):
        current_program()
