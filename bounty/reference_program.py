"""The reference program (an open-source LLM proxy's security policy), loadable out of the box."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from bounty.models import Category, Program, Severity

POLICY = """\
We take the security of the proxy and of everyone who runs it seriously, and we welcome reports
from researchers.

## How to report
Submit a report through the reporter portal, or write to the security contact. Every report is
reviewed, and we follow up within **5 business days**.

## What a report must contain
- clear steps to reproduce the issue;
- any further information that helps us understand its impact (affected version, configuration,
  logs, a proof of concept).

## Scope
Test only against systems and accounts that you own. A report that involves someone else's
systems or accounts is out of scope and does not qualify for a bounty.

## Bounties
Qualifying reports (clear reproduction steps, within scope) are rewarded according to the bounty
table below, by severity.
"""


@dataclass(frozen=True)
class SeverityLevel:
    name: str
    rank: int
    award_min: Decimal
    award_max: Decimal
    triage_days: int
    award_decision_days: int
    resolution_days: int


SEVERITIES = [
    SeverityLevel("Critical", 4, Decimal("1500"), Decimal("3000"), 1, 5, 15),
    SeverityLevel("High", 3, Decimal("500"), Decimal("1500"), 2, 10, 30),
    SeverityLevel("Medium", 2, Decimal("250"), Decimal("500"), 5, 15, 60),
    SeverityLevel("Low", 1, Decimal("50"), Decimal("250"), 10, 20, 90),
]

CATEGORIES = [
    (
        "P0",
        "Supply chain attack",
        "Compromise of the CI/CD pipeline that lets an attacker point the published package or "
        "container images at tampered artifacts.",
        "Critical",
    ),
    (
        "P1",
        "Unauthenticated proxy access",
        "An unauthenticated user gains access to a proxy instance that should be protected.",
        "High",
    ),
    (
        "P2",
        "Authenticated privilege escalation",
        "An authenticated user gains rights they should not have.",
        "Medium",
    ),
    (
        "P3",
        "Minor information disclosure / low-impact misconfiguration",
        "Leaks of non-sensitive information, or a misconfiguration with little impact.",
        "Low",
    ),
]


@transaction.atomic
def load_reference_program(*, contact_email: str = "security@demo.test") -> Program:
    """Create the reference program, its severities and categories where they are missing.

    Existing rows are left as they are, so a program admin's edits survive a second run.
    """
    program, _ = Program.objects.get_or_create(
        singleton=True,
        defaults={
            "name": "LLM Proxy security program",
            "policy": POLICY,
            "contact_email": contact_email,
            "bounties_enabled": True,
            "currency": "USD",
            "first_response_business_days": 5,
            "country": "US",
            "timezone": "America/Los_Angeles",
        },
    )
    severities = {}
    for level in SEVERITIES:
        severities[level.name], _ = Severity.objects.get_or_create(
            name=level.name,
            defaults={
                "rank": level.rank,
                "award_min": level.award_min,
                "award_max": level.award_max,
                "currency": "USD",
                "triage_business_days": level.triage_days,
                "award_decision_business_days": level.award_decision_days,
                "resolution_business_days": level.resolution_days,
            },
        )
    for code, name, description, severity_name in CATEGORIES:
        Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "typical_severity": severities[severity_name],
            },
        )
    return program
